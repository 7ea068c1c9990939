using System.Reflection;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NUnit.Framework;

namespace DivideAssemble.Tests;

/// <summary>Keeps the README honest: its first C# block compiles against the core library alone.</summary>
public sealed partial class ReadmeExampleTests
{
    [Category("Slow")]
    [Test]
    public void The_first_csharp_block_of_the_readme_compiles_against_the_core_library()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var match = CSharpBlock().Match(readme);
        match.Success.Should().BeTrue("the README shows a C# example");
        string code = match.Groups[1].Value;
        code.Should().Contain("DaadBuilder").And.Contain(".Build()");

        var diagnostics = Compile(code);
        diagnostics.Should().BeEmpty(string.Join(Environment.NewLine, diagnostics));
    }

    [Category("Slow")]
    [Test]
    public void The_readme_example_runs_and_tells_an_unseen_normal_image_from_a_defective_one()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        string folder = Directory.CreateTempSubdirectory("readme-example").FullName;
        try
        {
            string code = CSharpBlock().Match(readme).Groups[1].Value
                .Replace("\"model.daad\"", "@\"" + Path.Combine(folder, "model.daad") + "\"", StringComparison.Ordinal);
            var (diagnostics, image) = Emit(code);
            diagnostics.Should().BeEmpty(string.Join(Environment.NewLine, diagnostics));

            var assembly = System.Runtime.Loader.AssemblyLoadContext.Default.LoadFromStream(new MemoryStream(image!));
            var output = new StringWriter();
            var console = Console.Out;
            Console.SetOut(output);
            try
            {
                var entry = assembly.EntryPoint!;
                entry.Invoke(null, entry.GetParameters().Length == 0 ? null : new object[] { Array.Empty<string>() });
            }
            finally
            {
                Console.SetOut(console);
            }

            string printed = output.ToString();
            TestContext.Out.WriteLine(printed);
            printed.Should().MatchRegex(@"unseen normal: score [-0-9.]+ \(threshold [-0-9.]+\), anomalous: False");
            printed.Should().MatchRegex(@"defective: score [-0-9.]+ \(threshold [-0-9.]+\), anomalous: True");
            printed.Should().NotContain("warning");
            File.Exists(Path.Combine(folder, "model.daad")).Should().BeTrue();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Category("Slow")]
    [Test]
    public void The_readme_dependency_injection_snippet_compiles_against_the_packages_it_names()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        string code = CSharpBlock().Matches(readme).Select(m => m.Groups[1].Value).Single(c => c.Contains("AddDivideAssemble", StringComparison.Ordinal));
        code.Should().Contain("using Microsoft.Extensions.Hosting;").And.Contain("GetRequiredService<IAnomalyScorer>()");

        var named = new[] { typeof(DaadBuilder), typeof(Hosting.OnnxRuntimeBackend), typeof(Microsoft.Extensions.Hosting.Host), typeof(IAnomalyScorer) }
            .Select(t => t.Assembly.Location);
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p).StartsWith("Microsoft.Extensions.", StringComparison.Ordinal)
                || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll" or "TorchSharp.dll");
        var diagnostics = Emit(code, platform.Concat(named)).Diagnostics;
        diagnostics.Should().BeEmpty(string.Join(Environment.NewLine, diagnostics));
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DivideAssemble.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("DivideAssemble.sln not found above " + AppContext.BaseDirectory);
    }

    internal static IReadOnlyList<string> Compile(string code) => Emit(code).Diagnostics;

    private static (IReadOnlyList<string> Diagnostics, byte[]? Image) Emit(string code)
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll");
        var core = typeof(DaadBuilder).Assembly;
        return Emit(code, platform
            .Append(core.Location)
            .Concat(core.GetReferencedAssemblies().Select(a => Assembly.Load(a).Location)));
    }

    private static (IReadOnlyList<string> Diagnostics, byte[]? Image) Emit(string code, IEnumerable<string> referencePaths)
    {
        string usings = "global using System; global using System.IO; global using System.Linq; global using System.Threading; global using System.Threading.Tasks; global using System.Collections.Generic;";
        var trees = new[]
        {
            CSharpSyntaxTree.ParseText(usings, new CSharpParseOptions(LanguageVersion.Latest)),
            CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest)),
        };
        var references = referencePaths
            .Where(p => !string.IsNullOrEmpty(p))
            .Distinct()
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create(
            "ReadmeExample",
            trees,
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable)
                // Unification of a package's older framework references, silenced by the .NET SDK too (NoWarn CS1701;CS1702).
                .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic> { ["CS1701"] = ReportDiagnostic.Suppress, ["CS1702"] = ReportDiagnostic.Suppress }));
        using var pe = new MemoryStream();
        var result = compilation.Emit(pe);
        var diagnostics = result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList();
        return (diagnostics, result.Success ? pe.ToArray() : null);
    }

    [GeneratedRegex("```csharp\\r?\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}

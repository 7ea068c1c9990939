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

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DivideAssemble.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("DivideAssemble.sln not found above " + AppContext.BaseDirectory);
    }

    internal static IReadOnlyList<string> Compile(string code)
    {
        string usings = "global using System; global using System.IO; global using System.Linq; global using System.Threading; global using System.Threading.Tasks; global using System.Collections.Generic;";
        var trees = new[]
        {
            CSharpSyntaxTree.ParseText(usings, new CSharpParseOptions(LanguageVersion.Latest)),
            CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest)),
        };
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll");
        var core = typeof(DaadBuilder).Assembly;
        var references = platform
            .Append(core.Location)
            .Concat(core.GetReferencedAssemblies().Select(a => Assembly.Load(a).Location))
            .Where(p => !string.IsNullOrEmpty(p))
            .Distinct()
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create(
            "ReadmeExample",
            trees,
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var pe = new MemoryStream();
        var result = compilation.Emit(pe);
        return result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList();
    }

    [GeneratedRegex("```csharp\\r?\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}

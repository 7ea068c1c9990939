using FluentAssertions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NUnit.Framework;

namespace DivideAssemble.Tests;

/// <summary>
/// The shape of the library's source, so a newcomer can read and change one piece at a time: no file
/// over <see cref="MaxFileLines"/> lines, no method (constructor, accessor, operator or local function)
/// over <see cref="MaxMethodLines"/>, and every file in the folder its namespace names (below its project's
/// root namespace, or below <c>DivideAssemble</c> for a namespace several packages share, such as the backends'
/// <c>DivideAssemble.Hosting</c>).
/// </summary>
public sealed class CodeShapeTests
{
    private const int MaxFileLines = 450;
    private const int MaxMethodLines = 80;

    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(Path.Combine(ReadmeExampleTests.RepositoryRoot(), "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    [Test]
    public void No_source_file_is_longer_than_450_lines()
    {
        var files = SourceFiles().ToList();
        files.Should().NotBeEmpty();
        var tooLong = files
            .Select(f => (File: Relative(f), Lines: File.ReadAllLines(f).Length))
            .Where(f => f.Lines > MaxFileLines)
            .Select(f => $"{f.File}: {f.Lines} lines")
            .ToList();
        tooLong.Should().BeEmpty($"files stay at or under {MaxFileLines} lines (wc -l)");
    }

    [Test]
    public void No_method_is_longer_than_80_lines()
    {
        var tooLong = new List<string>();
        foreach (string file in SourceFiles())
        {
            var root = CSharpSyntaxTree.ParseText(File.ReadAllText(file)).GetRoot();
            foreach (var member in root.DescendantNodes().Where(n => n is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or LocalFunctionStatementSyntax))
            {
                var span = member.GetLocation().GetLineSpan();
                int lines = span.EndLinePosition.Line - span.StartLinePosition.Line + 1;
                if (lines > MaxMethodLines)
                {
                    tooLong.Add($"{Relative(file)}:{span.StartLinePosition.Line + 1} {Name(member)}: {lines} lines");
                }
            }
        }

        tooLong.Should().BeEmpty($"methods stay at or under {MaxMethodLines} lines");
    }

    [Test]
    public void Every_file_is_in_the_folder_of_its_namespace()
    {
        var misplaced = new List<string>();
        foreach (string file in SourceFiles())
        {
            var root = CSharpSyntaxTree.ParseText(File.ReadAllText(file)).GetRoot();
            var ns = root.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>().FirstOrDefault()?.Name.ToString();
            if (ns is null)
            {
                continue; // top-level statements (Program.cs)
            }

            string relative = Relative(file);
            var parts = relative.Split(Path.DirectorySeparatorChar);
            string project = parts[1];
            string rootNamespace = project == "DivideAssemble.Cli" ? "DivideAssemble.Cli" : project == "DivideAssemble.Core" ? "DivideAssemble" : project;
            // Below the project's root namespace, or below DivideAssemble for a namespace the packages share (DivideAssemble.Hosting).
            string expected = string.Join('.', new[] { rootNamespace }.Concat(parts[2..^1]));
            string shared = string.Join('.', new[] { "DivideAssemble" }.Concat(parts[2..^1]));
            if (ns != expected && (ns != shared || parts.Length < 4))
            {
                misplaced.Add($"{relative}: namespace {ns}, folder says {expected}");
            }
        }

        misplaced.Should().BeEmpty("a file's folder names its namespace");
    }

    private static string Relative(string path) => Path.GetRelativePath(ReadmeExampleTests.RepositoryRoot(), path);

    private static string Name(SyntaxNode member) => member switch
    {
        MethodDeclarationSyntax m => m.Identifier.Text,
        ConstructorDeclarationSyntax c => c.Identifier.Text + " (constructor)",
        LocalFunctionStatementSyntax l => l.Identifier.Text + " (local function)",
        AccessorDeclarationSyntax a => a.Keyword.Text + " accessor",
        _ => member.Kind().ToString(),
    };
}

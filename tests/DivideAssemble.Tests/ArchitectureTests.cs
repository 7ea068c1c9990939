using System.Text.Json;
using FluentAssertions;
using Mono.Cecil;
using Mono.Cecil.Cil;
using NUnit.Framework;

namespace DivideAssemble.Tests;

/// <summary>
/// The layers of the library, checked on the compiled assemblies (their IL, with Mono.Cecil): no type
/// uses a type of a higher layer, the TorchSharp-free assemblies reference no TorchSharp, and the
/// packages that only score restore without it.
/// </summary>
public sealed class ArchitectureTests
{
    /// <summary>The layers from the bottom up. A layer names its namespace or, in the root namespace, its types.</summary>
    private static readonly (string Layer, string Assembly, string[] Namespaces, string[] Types)[] Layers =
    {
        ("shared", "DivideAssemble.Core", new[] { "DivideAssemble" }, Array.Empty<string>()),
        ("shared evaluation", "DivideAssemble.Core", new[] { "DivideAssemble.Evaluation" }, Array.Empty<string>()),
        ("shared hosting", "DivideAssemble.Core", new[] { "DivideAssemble.Hosting" }, Array.Empty<string>()),
        ("stack workarounds", "DivideAssemble", new[] { "DivideAssemble.Torch" }, Array.Empty<string>()),
        ("onnx graph", "DivideAssemble", new[] { "DivideAssemble.Graph" }, Array.Empty<string>()),
        ("network modules", "DivideAssemble", new[] { "DivideAssemble.Modules" }, new[] { "BlockDivider", "BlockMemory", "DaadGenerator", "DcganDiscriminator", "DiscriminativeHead" }),
        ("data", "DivideAssemble", new[] { "DivideAssemble.Data" }, new[] { "TensorImageSource" }),
        ("scoring", "DivideAssemble", new[] { "DivideAssemble.Scoring" }, new[] { "AnomalyScorer", "ScoreMaps" }),
        ("persistence", "DivideAssemble", new[] { "DivideAssemble.Persistence" }, Array.Empty<string>()),
        ("training", "DivideAssemble", new[] { "DivideAssemble.Training" }, Array.Empty<string>()),
        ("export", "DivideAssemble", new[] { "DivideAssemble.Export" }, Array.Empty<string>()),
        ("facade", "DivideAssemble", new[] { "DivideAssemble.Hosting" }, new[] { "AnomalyDetector", "IAnomalyDetector", "DaadBuilder", "PooledScores" }),
        ("selection", "DivideAssemble", new[] { "DivideAssemble.Selection" }, new[] { "ModelSelection", "SelectionResult" }),
    };

    /// <summary>Which of our assemblies each assembly may reference, and whether it may reference TorchSharp.</summary>
    private static readonly (string Assembly, string[] MayReference, bool Torch)[] AssemblyRules =
    {
        ("DivideAssemble.Core", Array.Empty<string>(), false),
        ("DivideAssemble", new[] { "DivideAssemble.Core" }, true),
        ("DivideAssemble.Imaging", new[] { "DivideAssemble.Core" }, false),
        ("DivideAssemble.Reports", new[] { "DivideAssemble.Core" }, false),
        ("DivideAssemble.Onnx", new[] { "DivideAssemble.Core" }, false),
        ("OnnxScoring", new[] { "DivideAssemble.Core", "DivideAssemble.Imaging", "DivideAssemble.Onnx" }, false),
        ("daad", new[] { "DivideAssemble.Core", "DivideAssemble", "DivideAssemble.Imaging", "DivideAssemble.Reports", "DivideAssemble.Onnx" }, true),
    };

    [Test]
    public void No_type_uses_a_type_of_a_higher_layer()
    {
        var violations = new List<string>();
        var unassigned = new List<string>();
        foreach (string assembly in Layers.Select(l => l.Assembly).Distinct())
        {
            using var module = ModuleDefinition.ReadModule(Locate(assembly));
            foreach (var type in module.Types.Where(t => t.Name != "<Module>" && !IsCompilerGenerated(t)))
            {
                int own = LayerOf(assembly, type.Namespace, type.Name);
                if (own < 0)
                {
                    unassigned.Add(type.FullName);
                    continue;
                }

                foreach (var used in Dependencies(type).Distinct())
                {
                    string scope = ScopeOf(used);
                    if (Layers.All(l => l.Assembly != scope))
                    {
                        continue;
                    }

                    var outer = Outermost(used);
                    int theirs = LayerOf(scope, outer.Namespace, outer.Name);
                    if (theirs > own)
                    {
                        violations.Add($"{type.FullName} ({Layers[own].Layer}) uses {outer.FullName} ({(theirs < 0 ? "unassigned" : Layers[theirs].Layer)})");
                    }
                }
            }
        }

        unassigned.Should().BeEmpty("every type belongs to a layer (add new root-namespace types to a layer of this test)");
        violations.Distinct().Should().BeEmpty("a lower layer never uses a higher one");
    }

    [Test]
    public void Assemblies_reference_only_the_layers_below_them_and_the_scoring_packages_never_TorchSharp()
    {
        foreach (var (assembly, mayReference, torch) in AssemblyRules)
        {
            string path = Locate(assembly);
            using var module = ModuleDefinition.ReadModule(path);
            var ours = module.AssemblyReferences.Select(r => r.Name).Where(n => n == "daad" || n.StartsWith("DivideAssemble", StringComparison.Ordinal)).ToList();
            ours.Should().BeSubsetOf(mayReference, assembly);
            if (!torch)
            {
                module.AssemblyReferences.Select(r => r.Name).Should().NotContain(n => n.StartsWith("TorchSharp", StringComparison.Ordinal), $"{assembly} must run without TorchSharp");
            }
        }
    }

    [TestCase("src/DivideAssemble.Core", false)]
    [TestCase("src/DivideAssemble.Imaging", false)]
    [TestCase("src/DivideAssemble.Reports", true)]
    [TestCase("src/DivideAssemble.Onnx", false)]
    [TestCase("samples/OnnxScoring", false)]
    public void Packages_that_only_score_restore_without_TorchSharp_or_libtorch(string project, bool plots)
    {
        string assets = Path.Combine(ReadmeExampleTests.RepositoryRoot(), project, "obj", "project.assets.json");
        File.Exists(assets).Should().BeTrue($"{project} is restored with the solution");
        using var json = JsonDocument.Parse(File.ReadAllText(assets));
        var libraries = json.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name).ToList();
        libraries.Should().NotContain(l => l.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase) || l.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase), project);
        if (!plots)
        {
            libraries.Should().NotContain(l => l.StartsWith("ScottPlot", StringComparison.OrdinalIgnoreCase) || l.StartsWith("HarfBuzz", StringComparison.OrdinalIgnoreCase) || l.StartsWith("SkiaSharp.HarfBuzz", StringComparison.OrdinalIgnoreCase), $"{project} decodes images without the plotting stack");
        }
    }

    private static int LayerOf(string assembly, string ns, string name)
    {
        // The core's root namespace holds the public modules and the façade side by side: its types are listed one by one.
        bool listed = assembly == "DivideAssemble" && ns == "DivideAssemble";
        for (int i = 0; i < Layers.Length; i++)
        {
            var l = Layers[i];
            if (l.Assembly == assembly && (listed ? l.Types.Contains(name) : l.Namespaces.Contains(ns)))
            {
                return i;
            }
        }

        return -1;
    }

    private static string Locate(string assembly)
    {
        string path = Path.Combine(TestContext.CurrentContext.TestDirectory, assembly + ".dll");
        File.Exists(path).Should().BeTrue($"{assembly}.dll is copied next to the tests");
        return path;
    }

    private static bool IsCompilerGenerated(TypeDefinition type) =>
        type.Name.StartsWith('<') || type.CustomAttributes.Any(a => a.AttributeType.Name == "CompilerGeneratedAttribute");

    private static TypeReference Outermost(TypeReference type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type;
    }

    private static string ScopeOf(TypeReference type)
    {
        var t = type.GetElementType();
        return t.Scope switch
        {
            AssemblyNameReference a => a.Name,
            ModuleDefinition m => m.Assembly.Name.Name,
            _ => string.Empty,
        };
    }

    /// <summary>Every type a type uses: its base, interfaces, members' signatures, attributes and the operands of its methods' IL, nested types included.</summary>
    private static IEnumerable<TypeReference> Dependencies(TypeDefinition type)
    {
        foreach (var nested in type.NestedTypes)
        {
            foreach (var d in Dependencies(nested))
            {
                yield return d;
            }
        }

        if (type.BaseType is not null)
        {
            foreach (var t in Expand(type.BaseType))
            {
                yield return t;
            }
        }

        foreach (var t in type.Interfaces.SelectMany(i => Expand(i.InterfaceType)))
        {
            yield return t;
        }

        foreach (var t in type.CustomAttributes.SelectMany(a => Expand(a.AttributeType)))
        {
            yield return t;
        }

        foreach (var f in type.Fields)
        {
            foreach (var t in Expand(f.FieldType))
            {
                yield return t;
            }
        }

        foreach (var p in type.Properties)
        {
            foreach (var t in Expand(p.PropertyType))
            {
                yield return t;
            }
        }

        foreach (var m in type.Methods)
        {
            foreach (var t in Expand(m.ReturnType).Concat(m.Parameters.SelectMany(p => Expand(p.ParameterType))))
            {
                yield return t;
            }

            if (!m.HasBody)
            {
                continue;
            }

            foreach (var v in m.Body.Variables)
            {
                foreach (var t in Expand(v.VariableType))
                {
                    yield return t;
                }
            }

            foreach (var instruction in m.Body.Instructions)
            {
                var found = instruction.Operand switch
                {
                    TypeReference t => Expand(t),
                    MethodReference mr => Expand(mr.DeclaringType).Concat(Expand(mr.ReturnType)).Concat(mr.Parameters.SelectMany(p => Expand(p.ParameterType)))
                        .Concat(mr is GenericInstanceMethod g ? g.GenericArguments.SelectMany(Expand) : Enumerable.Empty<TypeReference>()),
                    FieldReference fr => Expand(fr.DeclaringType).Concat(Expand(fr.FieldType)),
                    _ => Enumerable.Empty<TypeReference>(),
                };
                foreach (var t in found)
                {
                    yield return t;
                }
            }
        }
    }

    private static IEnumerable<TypeReference> Expand(TypeReference? type)
    {
        if (type is null || type is GenericParameter)
        {
            yield break;
        }

        if (type is GenericInstanceType generic)
        {
            foreach (var t in Expand(generic.ElementType).Concat(generic.GenericArguments.SelectMany(Expand)))
            {
                yield return t;
            }

            yield break;
        }

        if (type is TypeSpecification spec)
        {
            foreach (var t in Expand(spec.ElementType))
            {
                yield return t;
            }

            yield break;
        }

        yield return type;
    }
}

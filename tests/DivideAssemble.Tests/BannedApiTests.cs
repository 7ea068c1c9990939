using System.Reflection;
using FluentAssertions;
using NUnit.Framework;

namespace DivideAssemble.Tests;

/// <summary>
/// The core's banned-API list (src/DivideAssemble/BannedSymbols.txt) must name every TorchSharp API that
/// converts a number to a Scalar implicitly — directly or through the methods it calls — because those
/// temporaries can be freed by their finalizer while the native call still reads them (docs/platforms.md).
/// This test scans the IL of the TorchSharp assembly the library builds against, so a new TorchSharp
/// version cannot silently bring a new unsafe path.
/// </summary>
public sealed class BannedApiTests
{
    [Test]
    public void Every_TorchSharp_api_that_converts_a_scalar_implicitly_is_banned_in_the_core()
    {
        var banned = File.ReadAllLines(Path.Combine(ReadmeExampleTests.RepositoryRoot(), "src", "DivideAssemble", "BannedSymbols.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(';')[0])
            .ToHashSet(StringComparer.Ordinal);
        var unsafeApis = UnsafeApis().ToList();
        unsafeApis.Should().Contain("M:TorchSharp.torch.Tensor.op_Addition(TorchSharp.torch.Tensor,TorchSharp.torch.Tensor)", "the scan finds the known case: Tensor + Tensor adds with an implicit alpha of 1");
        unsafeApis.Where(id => !banned.Contains(id)).Should().BeEmpty("each of these converts a Scalar implicitly and must be in BannedSymbols.txt");
    }

    /// <summary>Public methods of torch, torch.Tensor and torch.nn.functional (and module types whose forward does) that reach Scalar's implicit conversions.</summary>
    private static IEnumerable<string> UnsafeApis()
    {
        var assembly = typeof(TorchSharp.torch).Assembly;
        var methods = assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly).Cast<MethodBase>()
                .Concat(t.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)))
            .ToList();
        var callees = methods.ToDictionary(m => m, Callees);
        var unsafeMethods = new HashSet<MethodBase>(methods.Where(m => callees[m].Any(c => c.DeclaringType == typeof(TorchSharp.Scalar) && c.Name == "op_Implicit")));
        for (bool grew = true; grew;)
        {
            grew = false;
            foreach (var m in methods)
            {
                if (!unsafeMethods.Contains(m) && callees[m].Any(c => unsafeMethods.Contains(c) || (c is MethodInfo { IsGenericMethod: true } g && unsafeMethods.Contains(g.GetGenericMethodDefinition()))))
                {
                    unsafeMethods.Add(m);
                    grew = true;
                }
            }
        }

        var scanned = new[] { typeof(TorchSharp.torch), typeof(TorchSharp.torch.Tensor), typeof(TorchSharp.torch.nn.functional), typeof(TorchSharp.Scalar) };
        foreach (var m in unsafeMethods.Concat(methods.Where(m => m.DeclaringType == typeof(TorchSharp.Scalar) && m.Name == "op_Implicit")).Distinct())
        {
            if (m.IsPublic && scanned.Contains(m.DeclaringType))
            {
                yield return DocId(m);
            }
        }

        foreach (var module in unsafeMethods.Where(m => m.Name == "forward" && m.DeclaringType!.Namespace == "TorchSharp.Modules").Select(m => m.DeclaringType!).Distinct())
        {
            foreach (var t in assembly.GetTypes().Where(t => (t.IsPublic || t.IsNestedPublic) && module.IsAssignableFrom(t)))
            {
                yield return "T:" + TypeId(t);
            }
        }
    }

    private static List<MethodBase> Callees(MethodBase method)
    {
        var result = new List<MethodBase>();
        byte[]? il;
        try
        {
            il = method.GetMethodBody()?.GetILAsByteArray();
        }
        catch (Exception ex) when (ex is BadImageFormatException or InvalidOperationException)
        {
            return result;
        }

        if (il is null)
        {
            return result;
        }

        // call, callvirt and newobj take a 4-byte method token; a stray match that resolves to nothing is skipped.
        for (int i = 0; i + 4 < il.Length; i++)
        {
            if (il[i] is 0x28 or 0x6F or 0x73)
            {
                try
                {
                    if (method.Module.ResolveMethod(BitConverter.ToInt32(il, i + 1)) is { } callee)
                    {
                        result.Add(callee);
                    }
                }
                catch (Exception ex) when (ex is ArgumentException or BadImageFormatException or MissingMethodException or TypeLoadException)
                {
                }
            }
        }

        return result;
    }

    private static string DocId(MethodBase m)
    {
        string name = m is ConstructorInfo ? "#ctor" : m.Name;
        var ps = m.GetParameters();
        string id = "M:" + TypeId(m.DeclaringType!) + "." + name + (ps.Length > 0 ? "(" + string.Join(",", ps.Select(p => TypeId(p.ParameterType))) + ")" : string.Empty);
        return m is MethodInfo { Name: "op_Implicit" or "op_Explicit" } op ? id + "~" + TypeId(op.ReturnType) : id;
    }

    private static string TypeId(Type t)
    {
        if (t.IsArray)
        {
            return TypeId(t.GetElementType()!) + "[]";
        }

        if (t.IsByRef)
        {
            return TypeId(t.GetElementType()!) + "@";
        }

        if (t.IsGenericParameter)
        {
            return (t.DeclaringMethod is null ? "`" : "``") + t.GenericParameterPosition;
        }

        if (t.IsGenericType)
        {
            string name = t.GetGenericTypeDefinition().FullName!.Replace('+', '.');
            return name[..name.IndexOf('`', StringComparison.Ordinal)] + "{" + string.Join(",", t.GetGenericArguments().Select(TypeId)) + "}";
        }

        return t.FullName!.Replace('+', '.');
    }
}

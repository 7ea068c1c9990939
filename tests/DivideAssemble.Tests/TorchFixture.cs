using NUnit.Framework;
using TorchSharp;

namespace DivideAssemble.Tests;

/// <summary>Fixes libtorch's seed and thread count before every test.</summary>
[SetUpFixture]
public sealed class TorchFixture
{
    [OneTimeSetUp]
    public void Setup()
    {
        torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
    }
}

/// <summary>Base class that seeds libtorch before each test.</summary>
public abstract class TorchTest
{
    [SetUp]
    public void SeedTorch() => torch.manual_seed(1234);
}

/// <summary>Base class giving each test a fresh temporary folder (<see cref="dir"/>), deleted afterwards; seeds libtorch too.</summary>
public abstract class TempFolderTest : TorchTest
{
    protected string dir = string.Empty;

    [SetUp]
    public void MakeFolder() => dir = Directory.CreateTempSubdirectory("daad-tests-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(dir, recursive: true);
}

/// <summary>Tensor comparison helpers for assertions.</summary>
internal static class TensorAssert
{
    public static bool Same(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    public static double MaxAbsDiff(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b) =>
        (a - b).abs().max().to(TorchSharp.torch.float64).item<double>();
}

using FluentAssertions;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>The library never changes libtorch's process-wide state: the caller's random stream and thread count.</summary>
public sealed class ProcessStateTests : TempFolderTest
{
    [Test]
    public void Building_training_scoring_saving_and_loading_leave_the_callers_random_stream_and_threads_alone()
    {
        using var scope = NewDisposeScope();
        int threads = get_num_threads();
        torch.random.manual_seed(42);
        var expected = rand(5).data<float>().ToArray();
        torch.random.manual_seed(42);

        string path = Path.Combine(dir, "m.daad");
        using (var detector = DetectorTests.Builder(ModelVariant.DaadPlus, epochs: 1).Build())
        {
            detector.Fit(new TensorImageSource(Synthetic.Textures(16, 32, 1, false)));
            detector.Score(Synthetic.Textures(2, 32, 3, true));
            detector.Calibrate(new TensorImageSource(Synthetic.Textures(4, 32, 4, false)));
            detector.Save(path);
        }

        using (var loaded = AnomalyDetector.Load(path))
        {
            loaded.Score(Synthetic.Textures(1, 32, 5, false));
        }

        rand(5).data<float>().ToArray().Should().Equal(expected, "the caller's stream continues where it was");
        get_num_threads().Should().Be(threads);
    }

    [Test]
    public void Seeded_detectors_draw_the_same_weights_whatever_the_callers_stream()
    {
        using var scope = NewDisposeScope();
        var probe = Synthetic.Textures(2, 32, 8, false);
        torch.random.manual_seed(1);
        using var a = DetectorTests.Builder(ModelVariant.Daad, epochs: 1).Build();
        torch.random.manual_seed(2);
        _ = rand(100);
        using var b = DetectorTests.Builder(ModelVariant.Daad, epochs: 1).Build();
        a.Score(probe).Select(r => r.ReconstructionError).Should().Equal(b.Score(probe).Select(r => r.ReconstructionError));
    }
}

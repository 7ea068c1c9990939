using DivideAssemble.Scoring;
using FluentAssertions;
using NUnit.Framework;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>The residual maps of <see cref="ScoringOptions.Residual"/>: one low-pass scale, or four normalised scales.</summary>
public sealed class ResidualTests : TempFolderTest
{
    [Test]
    public void One_scale_is_the_low_passed_squared_error()
    {
        using var scope = NewDisposeScope();
        var x = Synthetic.Textures(2, 32, 1, false, 3);
        var y = Synthetic.Textures(2, 32, 2, false, 3);
        var single = new LowPassResidual().Map(x, y, new ScoringOptions { ResidualSigma = 1.5 }, null);
        TensorAssert.MaxAbsDiff(single, AnomalyMaps.SquaredError(x, y, 1.5)).Should().Be(0);
    }

    [Test]
    public void Several_scales_keep_per_pixel_the_largest_normalised_map()
    {
        using var scope = NewDisposeScope();
        var x = Synthetic.Textures(2, 32, 1, false, 3);
        var y = Synthetic.Textures(2, 32, 2, true, 3);
        double[] sigmas = { 0.25, 0.5, 1, 2 }, normalisers = { 0.5, 0.1, 0.02, 0.004 };
        var residual = new MultiScaleResidual();
        var scoring = new ScoringOptions { Residual = ResidualKind.MultiScale, ResidualSigma = 0.5 };
        residual.Sigmas(scoring, 32).Should().Equal(sigmas);
        var map = residual.Map(x, y, scoring, normalisers);

        // By hand from eq. (x − x̂) ⊛ g_σ, squared, channel mean, divided by q_σ, maximum over σ.
        var expected = sigmas.Select((s, k) => AnomalyMaps.SquaredError(x, y, s) / normalisers[k]).Aggregate((a, b) => maximum(a, b));
        TensorAssert.MaxAbsDiff(map, expected).Should().BeLessThan(1e-6f * expected.max().item<float>());
        map.shape.Should().Equal(2, 32, 32);
    }

    [Test]
    public void Calibration_measures_each_scales_99th_percentile_and_keeps_it_through_save_and_load()
    {
        using var scope = NewDisposeScope();
        var builder = DetectorTests.Builder(ModelVariant.Daad, 1).Configure(o => o.Scoring.Residual = ResidualKind.MultiScale);
        using var detector = builder.Build();
        var normals = Synthetic.Textures(24, 32, 1, false);
        detector.Fit(new TensorImageSource(normals));
        var normalisers = detector.Calibration!.ResidualNormalisers;
        normalisers.Should().NotBeNull().And.HaveCount(4);

        // The same quantile by hand over the held-back images' per-scale maps.
        var held = detector.HeldOutIndices(24);
        var heldImages = normals.index_select(0, tensor(held.Select(i => (long)i).ToArray()));
        detector.Generator.eval();
        using var noGrad = no_grad();
        var recon = detector.Generator.call(heldImages).detach();
        var sigmas = new MultiScaleResidual().Sigmas(detector.Options.Scoring, 32);
        sigmas.Should().Equal(0.25, 0.5, 1.0, 2.0);
        var maps = AnomalyMaps.ScaleMaps(heldImages, recon, sigmas);
        for (int k = 0; k < 4; k++)
        {
            var values = maps[k].flatten().to(float64).data<double>().ToArray();
            double q = ScoreCalibration.Quantile(values, 0.99);
            normalisers![k].Should().BeApproximately(q, 1e-6 * q, $"scale {k}");
        }

        string path = Path.Combine(dir, "multi.daad");
        detector.Save(path);
        using var loaded = AnomalyDetector.Load(path);
        loaded.Calibration.Should().Be(detector.Calibration, "normalisers compare element by element");
        loaded.Summary().Should().Contain("MultiScale residual at σ 0.5 px");
        var test = Synthetic.Textures(4, 32, 9, true);
        loaded.Score(test).Select(r => r.Score).Should().Equal(detector.Score(test).Select(r => r.Score));
    }

    [Test]
    public void A_multi_scale_scorer_refuses_a_calibration_without_its_normalisers()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Builder(ModelVariant.Daad, 1).Configure(o => o.Scoring.Residual = ResidualKind.MultiScale).Build();
        detector.Fit(new TensorImageSource(Synthetic.Textures(24, 32, 1, false)));
        var stripped = detector.Calibration! with { ResidualNormalisers = null };
        FluentActions.Invoking(() => detector.UseCalibration(stripped)).Should().Throw<ArgumentException>().WithMessage("*4-scale residual*ResidualNormalisers*");
        var options = detector.Options;
        options.Scoring.ResidualSigma = 0;
        Scoring.ScoringRules.Collect(options).Should().Contain(e => e.StartsWith("Scoring.Residual:", StringComparison.Ordinal));
        FluentActions.Invoking(() => DaadBuilder.Create(options).Build()).Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().WithMessage("*Scoring.Residual: MultiScale*");
    }
}

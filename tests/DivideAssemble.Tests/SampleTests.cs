using FluentAssertions;
using NUnit.Framework;

namespace DivideAssemble.Tests;

public sealed class SampleTests
{
    [Test]
    public void MvtecTraining_runs_one_epoch_of_the_full_recipe_on_a_tiny_folder()
    {
        string dir = Directory.CreateTempSubdirectory("daad-sample-").FullName;
        try
        {
            string category = TestImages.MvtecCategory(dir, "tiny", train: 6, good: 2, defects: new[] { "blob" }, perDefect: 2, size: 32);
            string model = Path.Combine(dir, "tiny.daad");
            using var output = new StringWriter();
            int code = DivideAssemble.Samples.MvtecTraining.Run(new[] { category, "--epochs", "1", "--image-size", "32", "--width", "16", "--out", model }, output);
            code.Should().Be(0, output.ToString());
            output.ToString().Should().Contain("DaadPlus generator").And.Contain("epoch 1/1").And.Contain("image AUROC:");
            File.Exists(model).Should().BeTrue();
            File.Exists(model + ".ckpt").Should().BeFalse("the checkpoint is removed once the model is saved");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

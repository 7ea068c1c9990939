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

    [Test]
    public void The_reproduction_plan_is_valid_before_hours_of_training_start()
    {
        var runs = DivideAssemble.Reproduce.Plan.All();
        runs.Select(r => r.File).Should().OnlyHaveUniqueItems();
        foreach (var run in runs.Where(r => r.Options is not null))
        {
            DaadOptionsValidator.Collect(run.Options!).Should().BeEmpty(run.File);
        }

        runs.Where(r => r.Data.Validation).Should().OnlyContain(r => r.Group.EndsWith("-selection", StringComparison.Ordinal), "only selection runs read validation splits");
        runs.Where(r => r.Group.EndsWith("-selection", StringComparison.Ordinal)).Should().OnlyContain(r => r.Data.Validation, "settings are never chosen on a test split");
        runs.Should().Contain(r => r.Group == "mnist-selection" && r.Name == "daad-" + DivideAssemble.Reproduce.Plan.MnistDivision.Replace(',', '-'));
        runs.Should().Contain(r => r.Group == "grass-selection" && r.Name == "daad-" + DivideAssemble.Reproduce.Plan.GrassDivision.Replace(',', '-'));
        runs.Count(r => r.Group == "mnist" && r.Options is not null).Should().Be(50);
        runs.Count(r => r.Group == "grass" && r.Options is not null).Should().Be(15);
    }

    [Test]
    public void Reproduction_tables_rebuild_from_run_files_and_changed_settings_invalidate_a_run()
    {
        string dir = Directory.CreateTempSubdirectory("daad-repro-").FullName;
        try
        {
            var store = new DivideAssemble.Reproduce.ResultStore(dir);
            var run = DivideAssemble.Reproduce.Plan.All().First(r => r.Group == "mnist" && r.Name == "class0-daad");
            store.Save(run, new DivideAssemble.Reproduce.RunResult
            {
                Group = run.Group, Name = run.Name, Key = DivideAssemble.Reproduce.ResultStore.Key(run), Dataset = "d", Variant = "Daad", Division = "1,1,1",
                ImageAuroc = 0.987, F1Max = 0.9, AveragePrecision = 0.9, Labels = new[] { 0, 1 }, Scores = new[] { 0.1, 0.2 }, Machine = "test", Settings = run.Options,
            });
            store.Find(run).Should().NotBeNull();
            var changed = run with { Options = run.Options!.Clone() };
            changed.Options!.Network.MemoryItems = 7;
            store.Find(changed).Should().BeNull("a run whose settings changed is trained again");

            string tables = DivideAssemble.Reproduce.Tables.Write(store, dir);
            string text = File.ReadAllText(tables);
            text.Should().Contain("| 0 | — | — | — | — | **0.987** | — |").And.Contain("## Grass block division");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

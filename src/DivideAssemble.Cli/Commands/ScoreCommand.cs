using System.Globalization;
using System.Text.Json;
using DivideAssemble.Evaluation;
using DivideAssemble.Imaging;

namespace DivideAssemble.Cli.Commands;

/// <summary><c>daad score</c>: scores image files and folders with a model, one line (or one JSON record) per image; an unreadable image is reported and the rest scored.</summary>
internal sealed class ScoreCommand : ICommand
{
    public string Name => "score";

    public int Run(Arguments a, TextWriter stdout, TextWriter stderr)
    {
        string modelPath = a.Required("model");
        bool json = a.Flag("json");
        string? device = a.Optional("device");
        a.RejectUnknown();
        if (a.Positionals.Count == 0)
        {
            throw new UsageException("score: give at least one image or folder to score");
        }

        SharedArguments.ApplyThreads(a);
        using var model = Models.Load(modelPath, device);
        int failures = 0;
        var records = new List<object>();
        foreach (string file in a.Positionals.SelectMany(input => Directory.Exists(input) ? Datasets.ImageFiles(input) : new[] { input }))
        {
            try
            {
                var r = model.Scorer.Score(file);
                if (json)
                {
                    records.Add(new { path = file, score = r.Score, threshold = r.Threshold, anomalous = r.IsAnomalous, regions = r.Regions.Count });
                }
                else
                {
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file}\t{r.Score:F4}\t{(r.IsAnomalous ? "anomalous" : "normal")}"));
                }
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                failures++;
                stderr.WriteLine($"error: {DaadTool.OneLine(ex)}");
            }
        }

        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(records, EvaluationReport.JsonOptions));
        }

        return failures == 0 ? 0 : 1;
    }
}

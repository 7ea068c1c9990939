using System.Text.Json;
using DivideAssemble.Evaluation;

namespace DivideAssemble.Cli.Commands;

/// <summary><c>daad info</c>: describes a model file (either format) and prints its options.</summary>
internal sealed class InfoCommand : ICommand
{
    public string Name => "info";

    public int Run(Arguments a, TextWriter stdout, TextWriter stderr)
    {
        a.RejectUnknown();
        if (a.Positionals.Count != 1)
        {
            throw new UsageException("info: give exactly one model file");
        }

        using var model = Models.Load(a.Positionals[0], null);
        stdout.WriteLine(model.Summary);
        stdout.WriteLine(JsonSerializer.Serialize(model.Scorer.Options, EvaluationReport.JsonOptions));
        return 0;
    }
}

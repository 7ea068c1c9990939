namespace DivideAssemble.Cli.Commands;

/// <summary><c>daad compare</c>: trains and evaluates several variants or block divisions on one data set and prints (or writes) the table.</summary>
internal sealed class CompareCommand : ICommand
{
    public string Name => "compare";

    public int Run(Arguments a, TextWriter stdout, TextWriter stderr)
    {
        string? models = a.Optional("models");
        string? divisions = a.Optional("divisions");
        string? output = a.Optional("out");
        if ((models is null) == (divisions is null))
        {
            throw new UsageException("compare: give exactly one of --models and --divisions");
        }

        var data = SharedArguments.LoadData(a);
        var baseOptions = SharedArguments.TrainingOptions(a, data);
        SharedArguments.ApplyThreads(a);
        a.RejectUnknown();
        var runs = models is not null ? ByModel(baseOptions, models) : ByDivision(baseOptions, divisions!);
        foreach (var (name, o) in runs)
        {
            var errors = Scoring.ScoringRules.Collect(o);
            if (errors.Count > 0)
            {
                throw new UsageException($"compare: configuration '{name}' is invalid: {string.Join("; ", errors)}");
            }
        }

        stdout.WriteLine(data.Description);
        var rows = new List<Comparison.Row>();
        foreach (var (name, o) in runs)
        {
            stdout.WriteLine($"== {name} ==");
            rows.Add(Comparison.RunOne(name, o, data, stdout));
        }

        string table = Comparison.Markdown(rows, data.Description, baseOptions);
        stdout.WriteLine();
        stdout.WriteLine(table);
        if (output is not null)
        {
            AtomicFile.WriteAllText(output, table);
            stdout.WriteLine($"table written to {output}");
        }

        return 0;
    }

    private static List<(string Name, DaadOptions Options)> ByModel(DaadOptions baseOptions, string models) =>
        models.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(m =>
        {
            var o = baseOptions.Clone();
            o.Network.Variant = SharedArguments.Variants.TryGetValue(m, out var v) ? v : throw new UsageException($"option --models: '{m}' is not one of {string.Join(", ", SharedArguments.Variants.Keys)}");
            return (m, o);
        }).ToList();

    private static List<(string Name, DaadOptions Options)> ByDivision(DaadOptions baseOptions, string divisions) =>
        divisions.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(d =>
        {
            var o = baseOptions.Clone();
            Arguments.SetDivision(o.Network, d, "divisions");
            return (d, o);
        }).ToList();
}

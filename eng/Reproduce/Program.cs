// Regenerates every table of docs/results.md: one-class MNIST and grass, five variants, the grass
// sweeps, and the validation runs the settings were chosen from.
//   dotnet run --project eng/Reproduce -c Release -- [--data ../shared/data] [--out docs/results]
//                                                        [--only group,group] [--tables-only] [--list]
// Each finished run is written to <out>/<group>/<name>.json; a run whose file exists with the same
// settings is skipped, so the command resumes where it stopped. --tables-only rebuilds
// <out>/tables.md and the plots from those files without training.
using System.Diagnostics;
using System.Globalization;
using DivideAssemble.Reproduce;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
string dataRoot = Path.Combine("..", "shared", "data");
string output = Path.Combine("docs", "results");
var only = new HashSet<string>(StringComparer.Ordinal);
bool tablesOnly = false, list = false;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
    switch (args[i])
    {
        case "--data": dataRoot = Next(); break;
        case "--out": output = Next(); break;
        case "--only": only.UnionWith(Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)); break;
        case "--tables-only": tablesOnly = true; break;
        case "--list": list = true; break;
        default:
            Console.Error.WriteLine($"error: unknown option '{args[i]}' (known: --data, --out, --only, --tables-only, --list)");
            return 2;
    }
}

var plan = Plan.All().Where(r => only.Count == 0 || only.Contains(r.Group)).ToList();
if (only.Count > 0 && plan.Count == 0)
{
    Console.Error.WriteLine($"error: --only matched no group; groups are {string.Join(", ", Plan.All().Select(r => r.Group).Distinct())}");
    return 2;
}

var store = new ResultStore(output);
if (list)
{
    foreach (var run in plan)
    {
        Console.WriteLine($"{(store.Find(run) is null ? "todo" : "done")}  {run.File}");
    }

    return 0;
}

if (!tablesOnly)
{
    var total = Stopwatch.StartNew();
    int done = 0, skipped = 0;
    foreach (var run in plan)
    {
        if (store.Find(run) is not null)
        {
            skipped++;
            continue;
        }

        // A sweep point with the same data and settings as a run already made (the default of every sweep) reuses it.
        string key = ResultStore.Key(run);
        var twin = run.Panels > 0 ? null : Plan.All().Where(r => r.File != run.File && ResultStore.Key(r) == key).Select(store.Find).FirstOrDefault(r => r is not null);
        if (twin is not null)
        {
            store.Save(run, twin with { Group = run.Group, Name = run.Name });
            Console.WriteLine($"{run.File}: same settings as {twin.Group}/{twin.Name}, reused");
            skipped++;
            continue;
        }

        Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {run.File} ({plan.Count - done - skipped} to go)");
        var result = Runner.Execute(run, dataRoot, output);
        store.Save(run, result);
        Console.WriteLine(FormattableString.Invariant($"  image AUROC {result.ImageAuroc:F3}, pixel AUROC {result.PixelAuroc?.ToString("F3") ?? "n/a"}, train {result.TrainSeconds:F0} s"));
        done++;
    }

    Console.WriteLine(FormattableString.Invariant($"{done} runs trained, {skipped} already done, {total.Elapsed.TotalMinutes:F1} min"));
}

string tables = Tables.Write(store, output);
Console.WriteLine($"tables written to {tables}");
return 0;

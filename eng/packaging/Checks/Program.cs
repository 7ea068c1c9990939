// Checks what the README promises about the packed library packages (eng/packaging/run.sh; the tool's
// per-platform packages are packed and tried by hand, docs/platforms.md):
//   Checks <feed> <README.md> <scorer project.assets.json>
// - every "depends on (nuspec)" cell of the README's package table equals the nuspec's dependencies;
// - every library package carries its own README.md, and its PDBs hold no path of the machine that packed it;
// - the scoring-only app restores no TorchSharp, libtorch, ScottPlot or HarfBuzz.
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

string feed = args[0], readme = args[1], assets = args[2];
var failures = new List<string>();
string version = File.ReadAllLines(readme).Select(l => Regex.Match(l, @"^Version (\S+?)\.?\s")).First(m => m.Success).Groups[1].Value;

var rows = File.ReadAllLines(readme)
    .Select(l => Regex.Match(l, @"^\| `(DivideAssemble[\w.]*)` \|[^|]*\| ([^|]*) \|$"))
    .Where(m => m.Success)
    .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim());
if (rows.Count < 5)
{
    failures.Add($"README: the package table has {rows.Count} rows, expected every package");
}

foreach (var (id, claim) in rows.Where(r => r.Value != "—"))
{
    string path = Path.Combine(feed, $"{id}.{version}.nupkg");
    if (!File.Exists(path))
    {
        failures.Add($"{id}: no package {Path.GetFileName(path)} in the feed");
        continue;
    }

    using var zip = ZipFile.OpenRead(path);
    var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
    XNamespace ns = nuspec.Root!.Name.Namespace;
    var dependencies = nuspec.Descendants(ns + "dependency").Select(d => (Id: d.Attribute("id")!.Value, Version: d.Attribute("version")!.Value)).ToList();
    {
        var claimed = Expand(claim);
        var actual = dependencies.Select(d => d.Id).ToHashSet();
        if (!claimed.SetEquals(actual))
        {
            failures.Add($"{id}: README says it depends on {string.Join(", ", claimed.Order())}; the nuspec says {string.Join(", ", actual.Order())}");
        }

        foreach (var d in dependencies.Where(d => d.Id.StartsWith("DivideAssemble", StringComparison.Ordinal) && d.Version != $"[{version}]"))
        {
            failures.Add($"{id}: depends on {d.Id} {d.Version}, not the exact version [{version}] the README promises");
        }
    }

    if (nuspec.Descendants(ns + "readme").SingleOrDefault()?.Value is not { } readmeName || zip.GetEntry(readmeName) is null)
    {
        failures.Add($"{id}: no README of its own");
    }
    else
    {
        using var reader = new StreamReader(zip.GetEntry(readmeName)!.Open());
        string text = reader.ReadToEnd();
        if (!text.StartsWith("# " + id, StringComparison.Ordinal) || Regex.IsMatch(text, @"\]\((?!https?:)[^)]+\)"))
        {
            failures.Add($"{id}: its README is not its own (starts '{text.Split('\n')[0]}') or has relative links");
        }
    }

    foreach (var pdb in zip.Entries.Where(e => e.FullName.EndsWith(".pdb", StringComparison.Ordinal)))
    {
        failures.AddRange(ReadPdb(pdb).LocalPaths.Select(p => $"{id}: {pdb.FullName} names a local path: {p}"));
    }
}

// Symbols packages: the PDBs a debugger downloads. Each must name no local path and lead to its sources
// (SourceLink to the repository, or the sources embedded when the repository has no remote).
int pdbs = 0;
foreach (var snupkg in Directory.GetFiles(feed, $"*.{version}.snupkg"))
{
    using var zip = ZipFile.OpenRead(snupkg);
    foreach (var pdb in zip.Entries.Where(e => e.FullName.EndsWith(".pdb", StringComparison.Ordinal)))
    {
        pdbs++;
        var (localPaths, traceable) = ReadPdb(pdb);
        failures.AddRange(localPaths.Select(p => $"{Path.GetFileName(snupkg)}: {pdb.FullName} names a local path: {p}"));
        if (!traceable)
        {
            failures.Add($"{Path.GetFileName(snupkg)}: {pdb.FullName} has neither SourceLink nor embedded sources");
        }
    }
}

if (pdbs < rows.Count(r => r.Value != "—"))
{
    failures.Add($"only {pdbs} PDBs in the symbols packages");
}

Console.WriteLine($"{pdbs} PDBs: deterministic paths, sources linked or embedded");

using (var json = JsonDocument.Parse(File.ReadAllText(assets)))
{
    var libraries = json.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name.Split('/')[0]).ToList();
    var banned = libraries.Where(l => Regex.IsMatch(l, "^(TorchSharp|libtorch|ScottPlot|HarfBuzzSharp|SkiaSharp.HarfBuzz)", RegexOptions.IgnoreCase)).ToList();
    if (banned.Count > 0)
    {
        failures.Add("the scoring-only app restores " + string.Join(", ", banned));
    }

    Console.WriteLine($"scoring-only app restores {libraries.Count} libraries: {string.Join(", ", libraries.Where(l => !l.StartsWith("System.", StringComparison.Ordinal) && !l.StartsWith("runtime.", StringComparison.Ordinal)))}");
}

foreach (string failure in failures)
{
    Console.Error.WriteLine("error: " + failure);
}

Console.WriteLine($"checked {rows.Count} packages of version {version}: {(failures.Count == 0 ? "all claims hold" : failures.Count + " failures")}");
return failures.Count == 0 ? 0 : 1;

// "DivideAssemble.Core (same version), Microsoft.Extensions.Options, .DependencyInjection.Abstractions" → full ids.
static HashSet<string> Expand(string claim)
{
    var ids = new HashSet<string>();
    string previous = string.Empty;
    foreach (string raw in claim.Split(','))
    {
        string part = Regex.Replace(raw, @"\(.*?\)", string.Empty).Trim();
        if (part.StartsWith('.'))
        {
            part = previous[..previous.IndexOf('.', previous.IndexOf('.') + 1)] + part;
        }

        ids.Add(part);
        previous = part;
    }

    return ids;
}

// Reads a portable PDB once: its document names outside /_/ (the deterministic root — a path of the machine
// that packed it), and whether it maps its sources to a URL (SourceLink) or embeds every source document.
static (List<string> LocalPaths, bool Traceable) ReadPdb(ZipArchiveEntry entry)
{
    var sourceLink = new Guid("CC110556-A091-4D38-9FEC-25AB9A351A6A");
    var embedded = new Guid("0E8A571B-6926-466E-B4AD-8AB04611F5FE");
    using var stream = new MemoryStream();
    using (var zipped = entry.Open())
    {
        zipped.CopyTo(stream);
    }

    stream.Position = 0;
    using var provider = MetadataReaderProvider.FromPortablePdbStream(stream);
    var reader = provider.GetMetadataReader();
    var names = reader.Documents.Select(h => reader.GetString(reader.GetDocument(h).Name)).ToList();
    var kinds = reader.CustomDebugInformation.Select(h => reader.GetCustomDebugInformation(h))
        .Select(c => (Parent: c.Parent.Kind, Kind: reader.GetGuid(c.Kind))).ToList();
    bool linked = kinds.Any(k => k.Kind == sourceLink);
    int embeddedDocuments = kinds.Count(k => k.Kind == embedded && k.Parent == HandleKind.Document);
    bool traceable = linked || (embeddedDocuments > 0 && embeddedDocuments >= names.Count(n => n.EndsWith(".cs", StringComparison.Ordinal)));
    return (names.Where(n => !n.StartsWith("/_/", StringComparison.Ordinal)).ToList(), traceable);
}

// Compares block divisions through the library API: the paper's central ablation.
//   dotnet run --project samples/BlockSizes -c Release -- [MVTec category folder] [epochs]
// Defaults to ../shared/data/textures/grass and 20 epochs at 128×128.
using System.Diagnostics;
using DivideAssemble;
using DivideAssemble.Imaging;
using DivideAssemble.Evaluation;

string category = args.Length > 0 ? args[0] : Path.Combine("..", "shared", "data", "textures", "grass");
int epochs = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20;
var data = Datasets.Mvtec(category);
Console.WriteLine(data.Description);
int channels = ImageDecoder.Decode(((FileImageSource)data.Train).Paths[0]).IsGrey ? 1 : 3;

var divisions = new (string Name, Action<DaadBuilder> Apply)[]
{
    ("2,2,1", b => b.WithBlockDivision(2, 2, 1)),
    ("4,4,1", b => b.WithBlockDivision(4, 4, 1)),
    ("8,8,1 (paper)", b => b.WithBlockDivision(8, 8, 1)),
    ("16,16,1", b => b.WithBlockDivision(16, 16, 1)),
    ("8,8,4", b => b.WithBlockDivision(8, 8, 4)),
};

var rows = new List<string>();
foreach (var (name, apply) in divisions)
{
    var builder = DaadBuilder.Create().WithImageSize(128).WithChannels(channels).WithTraining(epochs).WithSeed(0);
    apply(builder);
    using var detector = builder.Build();
    var clock = Stopwatch.StartNew();
    detector.Fit(data.Train);
    var report = Evaluator.Evaluate(detector, data.Test, data.Description);
    string row = FormattableString.Invariant($"| {name} | {report.ImageAuroc:F3} | {report.PixelAuroc:F3} | {report.Aupro:F3} | {clock.Elapsed.TotalSeconds:F0} |");
    Console.WriteLine(row);
    rows.Add(row);
}

Console.WriteLine();
Console.WriteLine("| division | image AUROC | pixel AUROC | AUPRO | seconds |");
Console.WriteLine("|---|---|---|---|---|");
rows.ForEach(Console.WriteLine);

using System.Globalization;

namespace DivideAssemble.Cli.Commands;

/// <summary><c>daad export</c>: writes a trained <c>.daad</c> model as ONNX.</summary>
internal sealed class ExportCommand : ICommand
{
    public string Name => "export";

    public int Run(Arguments a, TextWriter stdout, TextWriter stderr)
    {
        string modelPath = a.Required("model");
        string output = a.Required("out");
        a.RejectUnknown();
        using var model = Models.Load(modelPath, "cpu");
        var detector = model.Scorer as AnomalyDetector
            ?? throw new UsageException($"export: '{modelPath}' is already an exported model; export reads a .daad model file");
        foreach (string file in detector.ExportOnnx(output))
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"written {file} ({new FileInfo(file).Length:N0} bytes)"));
        }

        return 0;
    }
}

using System.Runtime.InteropServices;
using DivideAssemble.Cli.Commands;
using Microsoft.Extensions.Options;

namespace DivideAssemble.Cli;

/// <summary>The <c>daad</c> command-line tool: usage, dispatch to one class per command, and one-line errors with exit codes (2 usage, 1 failure).</summary>
internal static class DaadTool
{
    private static readonly HashSet<string> Flags = new(StringComparer.Ordinal) { "verbose", "json", "no-flips", "help", "skip-unreadable", "select" };

    private static readonly ICommand[] Commands =
    {
        new TrainCommand(), new EvalCommand(), new ScoreCommand(), new CompareCommand(), new InfoCommand(), new ExportCommand(), new SoakCommand(),
    };

    public const string Usage = """
        daad — DAAD/DAAD+ anomaly detection

        daad train   --data <path> --format mvtec|folder|idx|cifar [--category <name>] [--normal-class <k>] [--split test|validation]
                     --model daad|daad+|ae|ae-skip|memae [--image-size S] [--division rh,rw,rc|pixel] [--memory N]
                     [--epochs E] [--batch B] [--seed s] [--device cpu|cuda] [--preset default|paper]
                     [--channels C] [--width W] [--depth L] [--temperature T] [--lr X] [--threads n]
                     [--memory-init auto|uniform|samples] [--memory-weight β]
                     [--head-width w] [--head-epochs E] [--head-lr X] [--head-weight w] [--restoration on|off] [--flip-averaging on|off]
                     [--checkpoint <file> --checkpoint-every K] [--no-flips] --out <model file>
                     [--select [--select-budget <minutes>] [--select-on <labelled folder>]]
                     --select chooses division, temperature, residual and pooling (and, with --head-width, head or
                     reconstruction scoring) on a validation split of the training images (the test split is never
                     read), then trains the final model (--epochs) with the winner (the defaults stay unless a
                     candidate beats them by more than one standard error of their validation AUROC); --division or
                     --temperature given with it are kept fixed; an interrupted selection continues when run again
                     (state in <out>.selection.json)
                     --select-on judges the candidates on real images you hold back instead of synthetic defects: a
                     folder with good/ and one subfolder per defect kind (never images the model trains on); the
                     candidates then train on every training image
        daad eval    --model <file> --data <path> --format ... [--category] [--normal-class <k>] [--split ...]
                     --report <report.json> [--pictures <dir>] [--panels n] [--pooling mean|max|top] [--smoothing sigma] [--residual-smoothing sigma] [--memory-weight β] [--head-weight w] [--flip-averaging on|off]
        daad score   --model <file> <image or folder>... [--json]
        daad compare --data <path> --format ... [--category] [--normal-class <k>] [--split ...]
                     (--models daad,ae,... | --divisions "2,2,1;4,4,1;8,8,1;pixel") [--model daad] [training options]
                     [--out <table.md>]
        daad export  --model <model.daad> --out <model.onnx>
                     writes the trained model as ONNX (opset 17) for ONNX Runtime, OpenVINO, TensorRT or a model server
        daad info    <model file>
        daad --version
        score, eval and info read a .daad model or an exported .onnx model (told apart by content)
        daad soak    [--folder <images>] [--steps 300] [--images 2000] [--image-size 64] [--model ...] [--width W] [--max-growth 5]
                     trains and scores for a while and checks that resident memory stays flat (exit 1 if it grows more)
        Add --verbose to any command for stack traces on errors.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        bool verbose = args.Contains("--verbose");
        try
        {
            if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
            {
                stdout.WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }

            if (args[0] is "--version" or "version")
            {
                stdout.WriteLine(VersionLine());
                return 0;
            }

            if (UnsupportedPlatform(RuntimeInformation.ProcessArchitecture, OperatingSystem.IsLinux(), OperatingSystem.IsWindows(), OperatingSystem.IsMacOS()) is { } unsupported)
            {
                await stderr.WriteLineAsync("error: " + unsupported).ConfigureAwait(false);
                return 1;
            }

            var a = Arguments.Parse(args, Flags);
            a.Flag("verbose");
            var command = Commands.FirstOrDefault(c => c.Name == a.Command)
                ?? throw new UsageException($"unknown command '{a.Command}'; use one of: {string.Join(", ", Commands.Select(c => c.Name))}");
            return command.Run(a, stdout, stderr);
        }
        catch (Exception ex)
        {
            await stderr.WriteLineAsync(verbose ? $"error: {ex}" : $"error: {OneLine(ex)}").ConfigureAwait(false);
            return ex is UsageException ? 2 : 1;
        }
    }

    /// <summary>The platforms the tool ships libtorch for, as runtime identifiers.</summary>
    internal static readonly string[] SupportedPlatforms = { "linux-x64", "win-x64", "osx-arm64" };

    /// <summary><c>daad 1.0.0-rc.1 (commit …; TorchSharp …, ONNX Runtime …; linux-x64, .NET …)</c>.</summary>
    internal static string VersionLine()
    {
        static string Informational(Type type) =>
            type.Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? type.Assembly.GetName().Version?.ToString() ?? "?";
        string own = Informational(typeof(DaadTool));
        int plus = own.IndexOf('+', StringComparison.Ordinal);
        string version = plus < 0 ? own : own[..plus];
        string commit = plus < 0 ? string.Empty : $"commit {own[(plus + 1)..Math.Min(own.Length, plus + 13)]}; ";
        string torch = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3) ?? "?";
        string onnx = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString(3) ?? "?";
        return $"daad {version} ({commit}TorchSharp {torch}, ONNX Runtime {onnx}; {RuntimeInformation.RuntimeIdentifier}, .NET {Environment.Version})";
    }

    /// <summary>A one-line message when the tool has no libtorch for this machine, else <see langword="null"/>.</summary>
    internal static string? UnsupportedPlatform(Architecture architecture, bool linux, bool windows, bool macOS)
    {
        string os = linux ? "linux" : windows ? "win" : macOS ? "osx" : "unknown";
        string rid = $"{os}-{architecture.ToString().ToLowerInvariant()}";
        return SupportedPlatforms.Contains(rid)
            ? null
            : $"daad runs on {string.Join(", ", SupportedPlatforms)} (the platforms with a CPU libtorch build); this machine is {rid}. To score here, export the model on a supported machine (daad export) and score the .onnx with the DivideAssemble.Onnx package and the ONNX Runtime for this platform.";
    }

    internal static string OneLine(Exception ex)
    {
        string message = ex switch
        {
            OptionsValidationException o => "invalid options: " + string.Join("; ", o.Failures),
            TypeInitializationException { InnerException: { } inner } => inner.Message,
            AggregateException { InnerExceptions.Count: 1 } agg => agg.InnerExceptions[0].Message,
            _ => ex.Message,
        };
        return string.Join(' ', message.Split(new[] { '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries)).Trim();
    }
}

using System.Globalization;

namespace DivideAssemble.Cli;

/// <summary>A usage error: the message is shown as the one line on stderr.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }
}

/// <summary>Parsed command line: the command, its <c>--name value</c> options, flags and positional arguments.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> flags = new(StringComparer.Ordinal);
    private readonly HashSet<string> used = new(StringComparer.Ordinal);

    private Arguments(string command) => Command = command;

    public string Command { get; }

    public List<string> Positionals { get; } = new();

    /// <summary>Parses <paramref name="args"/>; <paramref name="flagNames"/> are options without a value.</summary>
    public static Arguments Parse(IReadOnlyList<string> args, IReadOnlySet<string> flagNames)
    {
        if (args.Count == 0)
        {
            throw new UsageException("no command given; use one of: train, eval, score, compare, info (daad help for usage)");
        }

        var result = new Arguments(args[0]);
        for (int i = 1; i < args.Count; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
            {
                result.Positionals.Add(a);
                continue;
            }

            string name = a[2..];
            string? inline = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }

            if (flagNames.Contains(name))
            {
                if (inline is not null)
                {
                    throw new UsageException($"option --{name} takes no value");
                }

                result.flags.Add(name);
                continue;
            }

            string value = inline ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"option --{name} needs a value"));
            if (!result.values.TryAdd(name, value))
            {
                throw new UsageException($"option --{name} is given twice");
            }
        }

        return result;
    }

    public bool Flag(string name)
    {
        used.Add(name);
        return flags.Contains(name);
    }

    public string? Optional(string name)
    {
        used.Add(name);
        return values.TryGetValue(name, out var v) ? v : null;
    }

    public string Required(string name) => Optional(name) ?? throw new UsageException($"{Command}: missing required option --{name}");

    public int? Int(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        string? v = Optional(name);
        if (v is null)
        {
            return null;
        }

        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n))
        {
            throw new UsageException($"option --{name}: '{v}' is not an integer");
        }

        if (n < min || n > max)
        {
            throw new UsageException($"option --{name}: '{v}' is not an integer in {min}..{max}");
        }

        return n;
    }

    /// <summary>Parses a number; its range is checked by whoever uses it (the options validator for model options).</summary>
    public double? Double(string name) => Double(name, double.MinValue, double.MaxValue);

    public double? Double(string name, double min, double max)
    {
        string? v = Optional(name);
        if (v is null)
        {
            return null;
        }

        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d))
        {
            throw new UsageException($"option --{name}: '{v}' is not a number");
        }

        if (!(d >= min && d <= max))
        {
            throw new UsageException($"option --{name}: '{v}' is not a number in [{min}, {max}]");
        }

        return d;
    }

    public T Choice<T>(string name, IReadOnlyDictionary<string, T> choices, T fallback)
    {
        string? v = Optional(name);
        if (v is null)
        {
            return fallback;
        }

        return choices.TryGetValue(v, out var c) ? c : throw new UsageException($"option --{name}: '{v}' is not one of {string.Join(", ", choices.Keys)}");
    }

    /// <summary>Throws when an option was given that the command did not read.</summary>
    public void RejectUnknown()
    {
        var unknown = values.Keys.Concat(flags).Where(k => !used.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new UsageException($"{Command}: unknown option --{unknown[0]}");
        }
    }

    /// <summary>Sets <paramref name="network"/>'s block division from option <paramref name="name"/>'s text (<see cref="NetworkOptions.SetDivision"/>).</summary>
    public static void SetDivision(NetworkOptions network, string text, string name)
    {
        try
        {
            network.SetDivision(text);
        }
        catch (FormatException ex)
        {
            throw new UsageException($"option --{name}: {ex.Message.TrimEnd('.')}");
        }
    }
}

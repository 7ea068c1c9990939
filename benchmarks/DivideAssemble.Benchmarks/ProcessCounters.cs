using System.Globalization;

namespace DivideAssemble.Benchmarks;

/// <summary>Counters of the whole process from Linux's /proc (zero elsewhere): minor page faults and context switches of all threads.</summary>
internal readonly record struct ProcessCounters(long MinorFaults, long VoluntarySwitches, long InvoluntarySwitches)
{
    public static ProcessCounters Read()
    {
        if (!File.Exists("/proc/self/stat"))
        {
            return default;
        }

        // Field 10 of /proc/self/stat (after the parenthesised command) is minflt, summed over the process's threads.
        string stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long minor = long.Parse(fields[7], CultureInfo.InvariantCulture);
        long voluntary = 0, involuntary = 0;
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                foreach (string line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        voluntary += long.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
                    }
                    else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        involuntary += long.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // A thread ended while we read it.
            }
        }

        return new ProcessCounters(minor, voluntary, involuntary);
    }

    public static ProcessCounters operator -(ProcessCounters a, ProcessCounters b) =>
        new(a.MinorFaults - b.MinorFaults, a.VoluntarySwitches - b.VoluntarySwitches, a.InvoluntarySwitches - b.InvoluntarySwitches);
}

/// <summary>How libtorch and the runtime are set up for threads, printed by the quick and profile modes.</summary>
internal static class ThreadSettings
{
    public static string Describe()
    {
        string Env(string name) => Environment.GetEnvironmentVariable(name) is { } v ? v : "unset";
        return FormattableString.Invariant(
            $"{Environment.ProcessorCount} cores; libtorch intra-op threads {TorchSharp.torch.get_num_threads()}, inter-op threads {TorchSharp.torch.get_num_interop_threads()}; OMP_NUM_THREADS {Env("OMP_NUM_THREADS")}, OMP_WAIT_POLICY {Env("OMP_WAIT_POLICY")}, MKL_NUM_THREADS {Env("MKL_NUM_THREADS")}; .NET server GC {System.Runtime.GCSettings.IsServerGC}, tiered compilation {Env("DOTNET_TieredCompilation")}");
    }
}

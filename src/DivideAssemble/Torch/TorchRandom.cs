using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Torch;

/// <summary>
/// Seeded randomness without touching the caller's. TorchSharp 0.107's layer constructors draw their
/// initial weights from libtorch's global CPU generator and take no generator of their own, so the
/// detector seeds that generator, builds, and puts the caller's state back — all under one lock, so
/// two detectors built on two threads cannot interleave. Code of the application that draws from the
/// global generator on another thread during those milliseconds is not covered by the lock (nothing
/// can cover it); its stream is restored afterwards either way.
/// </summary>
internal static class TorchRandom
{
    private static readonly object Gate = new();

    /// <summary>Runs <paramref name="action"/> with the global CPU generator seeded to <paramref name="seed"/>, then restores its previous state.</summary>
    public static T WithSeed<T>(long seed, Func<T> action)
    {
        lock (Gate)
        {
            var generator = Generator.Default;
            using var saved = generator.get_state();
            try
            {
                generator.manual_seed(seed);
                return action();
            }
            finally
            {
                generator.set_state(saved);
            }
        }
    }
}

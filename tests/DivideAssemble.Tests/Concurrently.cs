namespace DivideAssemble.Tests;

/// <summary>
/// Runs work on several threads released together; an exception on any worker fails the calling test
/// (it is rethrown here) instead of killing the test host, and a worker that never finishes fails it too.
/// </summary>
internal static class Concurrently
{
    public static void Run(int workers, Action<int> work, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromMinutes(2);
        using var start = new Barrier(workers);
        var tasks = Enumerable.Range(0, workers).Select(i => Task.Factory.StartNew(
            () =>
            {
                if (!start.SignalAndWait(limit))
                {
                    throw new TimeoutException($"Worker {i} was not released: another worker did not start.");
                }

                work(i);
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        if (!Task.WaitAll(tasks, limit))
        {
            throw new TimeoutException($"The {workers} workers did not finish within {limit}.");
        }
    }
}

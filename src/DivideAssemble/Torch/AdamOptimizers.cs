namespace DivideAssemble.Torch;

/// <summary>The optimisers of one training run, one per network (the discriminator's and head's when those exist), saved and loaded in this order.</summary>
internal sealed record AdamOptimizers(AdamOptimizer Generator, AdamOptimizer? Discriminator, AdamOptimizer? Head) : IDisposable
{
    /// <summary>The optimisers present, in file order.</summary>
    public IEnumerable<AdamOptimizer> All()
    {
        yield return Generator;
        if (Discriminator is not null)
        {
            yield return Discriminator;
        }

        if (Head is not null)
        {
            yield return Head;
        }
    }

    public void Dispose()
    {
        foreach (var optimizer in All())
        {
            optimizer.Dispose();
        }
    }
}

namespace DivideAssemble;

/// <summary>How a training run that starts from scratch initialises the memory items.</summary>
public enum MemoryInit
{
    /// <summary>
    /// <see cref="Samples"/> when the finest memory scale holds whole feature maps (one block per image,
    /// <see cref="NetworkOptions.MemoryHoldsWholeMaps"/>: the default division up to 32×32), otherwise
    /// <see cref="Uniform"/>.
    /// </summary>
    Auto = 0,

    /// <summary>MemAE's initialisation: every item element uniform in ±1/√D.</summary>
    Uniform = 1,

    /// <summary>
    /// Each item starts as a block of a training image, read through the untrained encoder (distinct
    /// blocks of a seeded sample of the training images), plus the uniform initialisation to break ties.
    /// </summary>
    Samples = 2,
}

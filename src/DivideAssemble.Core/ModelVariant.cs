namespace DivideAssemble;

/// <summary>The model family to build: the method and the baselines of the paper's ablation.</summary>
public enum ModelVariant
{
    /// <summary>Plain autoencoder: no skip connections, no memory.</summary>
    Autoencoder = 0,

    /// <summary>UNet-like autoencoder with plain skip connections, no memory.</summary>
    AutoencoderSkip = 1,

    /// <summary>MemAE-style: pixel-wise memory on every skip connection.</summary>
    MemAE = 2,

    /// <summary>DAAD: block-wise memory on every skip connection, reconstruction loss only.</summary>
    Daad = 3,

    /// <summary>DAAD+: DAAD trained adversarially with a DCGAN discriminator whose features give an alignment score.</summary>
    DaadPlus = 4,
}

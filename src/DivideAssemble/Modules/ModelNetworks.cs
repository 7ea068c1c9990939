using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Modules;

/// <summary>
/// The networks of one model: the generator, the DAAD+ discriminator and the discriminative head when the
/// options build them. Model files, checkpoints and keep-best copies store them in this order, keyed
/// <c>g.…</c>, <c>d.…</c> and <c>h.…</c>.
/// </summary>
internal sealed record ModelNetworks(DaadGenerator Generator, DcganDiscriminator? Discriminator, DiscriminativeHead? Head)
{
    /// <summary>Builds the networks <paramref name="network"/> describes (weights drawn from the caller's generator state).</summary>
    public static ModelNetworks Build(NetworkOptions network) => new(
        new DaadGenerator(network),
        network.HasDiscriminator ? new DcganDiscriminator(network.ResolvedChannels, network.ImageSize, network.DiscriminatorBaseWidth, network.DiscriminatorMaxWidth, network.FeatureDimension) : null,
        network.HasHead ? new DiscriminativeHead(network.ResolvedChannels, network.ImageSize, network.ResolvedHeadWidth, network.HeadDepth) : null);

    /// <summary>The networks present, with the key prefix of their state in files.</summary>
    public IEnumerable<(string Prefix, nn.Module Module)> Named()
    {
        yield return ("g.", Generator);
        if (Discriminator is not null)
        {
            yield return ("d.", Discriminator);
        }

        if (Head is not null)
        {
            yield return ("h.", Head);
        }
    }

    /// <summary>Every network's state dictionary entry, keyed with its prefix.</summary>
    public IEnumerable<(string Key, TorchSharp.torch.Tensor Value)> State() =>
        Named().SelectMany(n => n.Module.state_dict().Select(kv => (n.Prefix + kv.Key, kv.Value)));

    /// <summary>Puts every network in training (or evaluation) mode.</summary>
    public void Train(bool training)
    {
        foreach (var (_, module) in Named())
        {
            module.train(training);
        }
    }

    /// <summary>Moves every network to <paramref name="device"/>.</summary>
    public void To(TorchSharp.torch.Device device)
    {
        foreach (var (_, module) in Named())
        {
            module.to(device);
        }
    }

    /// <summary>Disposes every network.</summary>
    public void Dispose()
    {
        foreach (var (_, module) in Named())
        {
            module.Dispose();
        }
    }
}

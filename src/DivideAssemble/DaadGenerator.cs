using DivideAssemble.Modules;
using DivideAssemble.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// The DAAD generator: a UNet-like encoder–decoder whose skip connection at every scale passes
/// through that scale's own block memory (divide → read memory → assemble), so the decoder only
/// sees features re-assembled from normal patterns. The same class builds the paper's ablation
/// baselines: a plain autoencoder, an autoencoder with plain skips, and MemAE-style pixel memory.
/// </summary>
/// <remarks>
/// Encoder stage i: Conv 4×4 stride 2 → BatchNorm → LeakyReLU(0.2), widths min(base·2^i, cap).
/// Decoder stage: ConvTranspose 4×4 stride 2 → BatchNorm → ReLU over the concatenation of the
/// previous stage and the scale's (memory-read) skip; a final Conv 3×3 → tanh gives the image.
/// Scale L (the bottleneck) also passes through its memory when it carries one.
/// </remarks>
public sealed class DaadGenerator : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> encoder;
    private readonly ModuleDict<MemorySkip> memories;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> decoder;
    private readonly nn.Module<Tensor, Tensor> output;
    private readonly NetworkOptions options;

    /// <summary>Builds a generator; every configuration problem is reported before any tensor is allocated.</summary>
    /// <param name="options">The network options (copied).</param>
    /// <exception cref="ArgumentException">The configuration is invalid (for example a division ratio that does not divide a feature map, an image size not divisible by 2^depth, or zero memory items); the message lists each problem as <see cref="DaadOptionsValidator"/> words it.</exception>
    public DaadGenerator(NetworkOptions options)
        : base(nameof(DaadGenerator))
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Clone();
        Scales = this.options.PlanScales();

        int depth = this.options.Depth;
        bool skips = this.options.HasSkips;
        encoder = new ModuleList<nn.Module<Tensor, Tensor>>();
        long inChannels = this.options.ResolvedChannels;
        for (int i = 0; i < depth; i++)
        {
            long width = this.options.StageWidth(i);
            encoder.Add(nn.Sequential(
                ("conv", new SafeConv(inChannels, width, 4, 2, 1, transposed: false, bias: false)),
                ("bn", new SafeBatchNorm2d(width)),
                ("act", new SafeLeakyReLU(0.2))));
            inChannels = width;
        }

        memories = new ModuleDict<MemorySkip>();
        foreach (var plan in Scales.Where(p => p.HasMemory))
        {
            memories.Add($"scale{plan.Scale}", new MemorySkip(plan, this.options.MemoryItems, this.options.MemoryTemperature, this.options.ShrinkThreshold));
        }

        // Decoder stage j (j = depth-1 … 0) upsamples to the resolution of scale j (or the image for j = 0).
        decoder = new ModuleList<nn.Module<Tensor, Tensor>>();
        for (int j = depth - 1; j >= 0; j--)
        {
            long input = j == depth - 1 ? this.options.StageWidth(depth - 1) : (skips ? 2L : 1L) * this.options.StageWidth(j);
            long width = j == 0 ? this.options.StageWidth(0) : this.options.StageWidth(j - 1);
            decoder.Add(nn.Sequential(
                ("conv", new SafeConv(input, width, 4, 2, 1, transposed: true, bias: false)),
                ("bn", new SafeBatchNorm2d(width)),
                ("act", nn.ReLU())));
        }

        output = nn.Sequential(
            ("conv", new SafeConv(this.options.StageWidth(0), this.options.ResolvedChannels, 3, 1, 1, transposed: false)),
            ("tanh", nn.Tanh()));

        RegisterComponents();
        DcganInit.Apply(this);
    }

    /// <summary>Gets the per-scale geometry (feature sizes, effective ratios, capping).</summary>
    public IReadOnlyList<ScalePlan> Scales { get; }

    /// <summary>Gets a copy of the options this generator was built from.</summary>
    public NetworkOptions Options => options.Clone();

    /// <summary>Gets the memory bank of every scale that carries one, keyed by 1-based scale.</summary>
    public IReadOnlyDictionary<int, BlockMemory> Memories =>
        Scales.Where(p => p.HasMemory).ToDictionary(p => p.Scale, p => memories[$"scale{p.Scale}"].Memory);

    /// <summary>Reconstructs images <c>[B, C, S, S]</c> (values in [-1, 1]).</summary>
    /// <exception cref="ArgumentException">The input's shape does not match the configured channels and size.</exception>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var features = Encode(input);
        var h = Skip(features.Count, features[^1]);
        for (int k = 0; k < decoder.Count; k++)
        {
            int j = features.Count - 1 - k; // decoder stage upsampling to scale j
            if (k > 0 && options.HasSkips)
            {
                h = cat(new[] { h, Skip(j + 1, features[j]) }, 1);
            }

            h = decoder[k].call(h);
        }

        return output.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Returns the memory distance M(x) <c>[B]</c> of images <c>[B, C, S, S]</c>: the mean over the finest
    /// memory scale's blocks of each block's <see cref="BlockMemory.Distance"/> to the nearest item
    /// (see <see cref="ScoringOptions.MemoryWeight"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The input's shape does not match, or the generator has no memory.</exception>
    public Tensor MemoryDistance(Tensor input)
    {
        var finest = Scales.FirstOrDefault(p => p.HasMemory) ?? throw new ArgumentException($"A {options.Variant} generator has no memory to measure a distance to.", nameof(input));
        using var scope = NewDisposeScope();
        var skip = memories[$"scale{finest.Scale}"];
        var features = Encode(input, finest.Scale);
        return skip.Memory.Distance(skip.Divider.Divide(features[finest.Scale - 1])).mean(new long[] { 1 }).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Initialises every memory from batches of images <c>[B, C, S, S]</c> (<see cref="MemoryInit.Samples"/>):
    /// each scale's items start as distinct blocks of the images' features, chosen with <paramref name="random"/>,
    /// read through the encoder in training mode (batch statistics per batch, as training sees them). The
    /// batch-norm running statistics are left as they were.
    /// </summary>
    internal void InitialiseMemories(IEnumerable<Tensor> batches, Random random)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var saved = buffers().Select(b => b.clone()).ToList();
        bool wasTraining = training;
        train();
        var blocks = Scales.Where(p => p.HasMemory).ToDictionary(p => p.Scale, _ => new List<Tensor>());
        foreach (var batch in batches)
        {
            var features = Encode(batch);
            foreach (var plan in Scales.Where(p => p.HasMemory))
            {
                var divided = memories[$"scale{plan.Scale}"].Divider.Divide(features[plan.Scale - 1]);
                blocks[plan.Scale].Add(divided.reshape(-1, divided.shape[^1]));
            }
        }

        train(wasTraining);
        foreach (var (buffer, value) in buffers().Zip(saved))
        {
            buffer.copy_(value);
        }

        foreach (var plan in Scales.Where(p => p.HasMemory))
        {
            var memory = memories[$"scale{plan.Scale}"].Memory;
            var all = cat(blocks[plan.Scale], 0);
            var order = Enumerable.Range(0, (int)all.shape[0]).ToArray();
            random.Shuffle(order);
            var pick = tensor(order.Take(memory.ItemCount).Select(i => (long)i).ToArray(), device: all.device);
            memory.InitialiseFrom(all.index_select(0, pick));
        }
    }

    /// <summary>Returns the memory addressing weights of every memory scale for <paramref name="input"/> (diagnostics).</summary>
    public IReadOnlyDictionary<int, Tensor> Address(Tensor input)
    {
        var result = new Dictionary<int, Tensor>();
        using var scope = NewDisposeScope();
        var features = Encode(input);
        foreach (var plan in Scales.Where(p => p.HasMemory))
        {
            result[plan.Scale] = memories[$"scale{plan.Scale}"].Address(features[plan.Scale - 1]).MoveToOuterDisposeScope();
        }

        return result;
    }

    /// <summary>
    /// Returns the mean addressing entropy over log N of every memory scale for <paramref name="input"/>:
    /// 1 means reads are the bank's average, values near 0 mean each block reads a few items.
    /// </summary>
    internal Dictionary<int, double> AddressingEntropy(Tensor input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Address(input).ToDictionary(kv => kv.Key, kv => BlockMemory.AddressingEntropy(kv.Value) / Math.Log(options.MemoryItems));
    }

    /// <summary>Returns a human-readable summary: variant, widths, each scale's division (with capping) and parameter count.</summary>
    public string Summary()
    {
        var lines = new List<string>
        {
            $"{options.Variant} generator, {options.ResolvedChannels}×{options.ImageSize}×{options.ImageSize} input, depth {options.Depth}, " +
            $"{parameters().Sum(p => p.numel()):N0} parameters",
        };
        lines.AddRange(Scales.Select(p => "  " + p + (p.HasMemory ? $", N={options.MemoryItems}" : string.Empty)));
        return string.Join(Environment.NewLine, lines);
    }

    private List<Tensor> Encode(Tensor input, int stages = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 4 || input.shape[1] != options.ResolvedChannels || input.shape[2] != options.ImageSize || input.shape[3] != options.ImageSize)
        {
            throw new ArgumentException(
                $"Expected images of shape [B, {options.ResolvedChannels}, {options.ImageSize}, {options.ImageSize}], got [{string.Join(", ", input.shape)}].",
                nameof(input));
        }

        var features = new List<Tensor>(encoder.Count);
        var h = input;
        foreach (var stage in encoder.Take(stages))
        {
            h = stage.call(h);
            features.Add(h);
        }

        return features;
    }

    private Tensor Skip(int scale, Tensor features) =>
        memories.TryGetValue($"scale{scale}", out var skip) ? skip.call(features) : features;
}

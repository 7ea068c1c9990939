using DivideAssemble.Modules;
using DivideAssemble.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// A bank of <c>N</c> learnable memory items of dimension <c>D</c>, read by soft attention
/// (eq. 1–2 of DAAD): each query is replaced by a weighted sum of items, the weights being the
/// softmax of the query's cosine similarity to every item.
/// </summary>
/// <remarks>
/// <para>Addressing (eq. 1): <c>w_i = softmax_i(cos(q, m_i) / T)</c> with temperature <c>T</c>
/// (the paper's <c>T = 1</c> is the default). Because cosines lie in [−1, 1], at <c>T = 1</c> the
/// weights over 500 items differ by at most a factor e², so reads are close to the bank's mean;
/// smaller temperatures make addressing sparser. <see cref="AddressingEntropy"/> measures this.</para>
/// <para>Optional MemAE hard shrinkage: <c>w ← max(w − λ, 0)·w / (|w − λ| + ε)</c>, then
/// re-normalised to sum to 1 (off when <see cref="ShrinkThreshold"/> is 0).</para>
/// <para>Read (eq. 2): <c>q̂ = Σ_i w_i m_i</c>. Gradients reach both the items and the queries.</para>
/// </remarks>
public sealed class BlockMemory : nn.Module<Tensor, Tensor>
{
    private const double NormEpsilon = 1e-12;
    private const double ShrinkEpsilon = 1e-12;

    /// <summary>Creates a memory bank.</summary>
    /// <param name="items">Number of memory items <c>N</c> (at least 1).</param>
    /// <param name="itemDimension">Dimension <c>D</c> of every item (at least 1).</param>
    /// <param name="temperature">Softmax temperature <c>T</c> of eq. 1, in [<see cref="NetworkOptions.MinTemperature"/>, <see cref="NetworkOptions.MaxTemperature"/>] (the paper uses 1).</param>
    /// <param name="shrinkThreshold">MemAE hard-shrinkage threshold λ in [0, <see cref="NetworkOptions.MaxShrinkThreshold"/>]; 0 turns shrinkage off.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public BlockMemory(int items, long itemDimension, double temperature = 1.0, double shrinkThreshold = 0.0)
        : base(nameof(BlockMemory))
    {
        if (items < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(items), items, "A memory needs at least one item.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(itemDimension, 1);
        if (!(temperature >= NetworkOptions.MinTemperature && temperature <= NetworkOptions.MaxTemperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, $"The temperature must lie in [{NetworkOptions.MinTemperature}, {NetworkOptions.MaxTemperature}].");
        }

        if (!(shrinkThreshold >= 0 && shrinkThreshold <= NetworkOptions.MaxShrinkThreshold))
        {
            throw new ArgumentOutOfRangeException(nameof(shrinkThreshold), shrinkThreshold, $"The shrink threshold must lie in [0, {NetworkOptions.MaxShrinkThreshold}].");
        }

        ItemCount = items;
        ItemDimension = itemDimension;
        Temperature = temperature;
        ShrinkThreshold = shrinkThreshold;

        // MemAE's initialisation: uniform in ±1/√D.
        double bound = 1.0 / Math.Sqrt(itemDimension);
        Items = new Parameter(empty(items, itemDimension).uniform_(-bound, bound));
        RegisterComponents();
    }

    /// <summary>Gets the learnable memory items, shape <c>[N, D]</c>.</summary>
    public Parameter Items { get; }

    /// <summary>Gets the number of items <c>N</c>.</summary>
    public int ItemCount { get; }

    /// <summary>Gets the item dimension <c>D</c>.</summary>
    public long ItemDimension { get; }

    /// <summary>Gets the softmax temperature of eq. 1.</summary>
    public double Temperature { get; }

    /// <summary>Gets the hard-shrinkage threshold (0 when shrinkage is off).</summary>
    public double ShrinkThreshold { get; }

    /// <summary>
    /// Gets or sets how the cosine is computed: divide the raw <c>[M, N]</c> products by the outer
    /// product of norms, or normalise copies of the <c>[M, D]</c> queries and <c>[N, D]</c> items
    /// first. Both give the same weights; the cheaper one touches the smaller of <c>[M, N]</c> and
    /// <c>[M, D]</c>, so <see langword="null"/> (the default) normalises copies when D &lt; N
    /// (per-pixel blocks) and divides the products otherwise (measured in docs/benchmarks.md).
    /// </summary>
    internal bool? NormaliseCopies { get; set; }

    /// <summary>Computes the addressing weights of eq. 1 for queries <c>[..., D]</c>; returns <c>[..., N]</c>.</summary>
    /// <exception cref="ArgumentException">The last dimension of the queries is not <c>D</c>.</exception>
    public Tensor Address(Tensor queries)
    {
        using var scope = NewDisposeScope();
        var flat = Flatten(queries);
        var weights = AddressFlat(flat);
        var shape = queries.shape.ToArray();
        shape[^1] = ItemCount;
        return weights.reshape(shape).MoveToOuterDisposeScope();
    }

    /// <summary>Reads the memory (eq. 2): returns <c>Σ_i w_i m_i</c> for every query, with the queries' shape.</summary>
    /// <exception cref="ArgumentException">The last dimension of the queries is not <c>D</c>.</exception>
    public override Tensor forward(Tensor queries)
    {
        using var scope = NewDisposeScope();
        var flat = Flatten(queries);
        bool copies = NormaliseCopies ?? ItemDimension < ItemCount;
        var read = ShrinkThreshold == 0 && (FusedBackward ?? true) && is_grad_enabled() && (flat.requires_grad || Items.requires_grad)
            ? MemoryRead.Read(flat, Items, Temperature, copies)
            : AddressFlat(flat).mm(Items);
        return read.reshape(queries.shape).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Gets or sets whether training runs eq. 1–2 through <see cref="MemoryRead"/>'s hand-written backward
    /// (<see langword="null"/>, the default: yes, unless shrinkage is on) or through autograd op by op
    /// (kept to check the two against each other and to measure the difference, docs/benchmarks.md).
    /// </summary>
    internal bool? FusedBackward { get; set; }

    /// <summary>
    /// Returns each query's distance to the nearest item, <c>1 − max_i cos(q, m_i)</c>, for queries
    /// <c>[..., D]</c>: shape <c>[...]</c>, values in [0, 2] (the memory distance of <see cref="ScoringOptions.MemoryWeight"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The last dimension of the queries is not <c>D</c>.</exception>
    public Tensor Distance(Tensor queries)
    {
        using var scope = NewDisposeScope();
        var flat = Flatten(queries);
        var q = flat * ScalarMath.ClampMin(flat.norm(1, keepdim: true, p: 2), NormEpsilon).reciprocal();
        var m = Items * ScalarMath.ClampMin(Items.norm(1, keepdim: true, p: 2), NormEpsilon).reciprocal();
        var nearest = q.mm(m.t()).max(1).values;
        return ScalarMath.Sub(nearest, 1.0).neg().reshape(queries.shape[..^1]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Initialises the items from sampled queries <c>[M, D]</c>: item i becomes query i (cycling when
    /// there are fewer queries than items) plus its current value, which breaks ties between repeats.
    /// </summary>
    /// <exception cref="ArgumentException">The queries are not <c>[M ≥ 1, D]</c>.</exception>
    public void InitialiseFrom(Tensor queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        if (queries.dim() != 2 || queries.shape[0] < 1 || queries.shape[1] != ItemDimension)
        {
            throw new ArgumentException($"Initialising {ItemCount} items of dimension {ItemDimension} needs queries [M ≥ 1, {ItemDimension}]; got [{string.Join(", ", queries.shape)}].", nameof(queries));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long count = queries.shape[0];
        var rows = tensor(Enumerable.Range(0, ItemCount).Select(i => i % count).ToArray(), device: queries.device);
        var sampled = queries.index_select(0, rows).to(Items.dtype).to(Items.device);
        Items.add_(sampled, ScalarMath.One);
    }

    /// <summary>
    /// Returns the mean addressing entropy (in nats) of the given weights <c>[..., N]</c>:
    /// <c>−Σ_i w_i log w_i</c>, averaged over queries. Uniform addressing gives <c>log N</c>.
    /// </summary>
    public static double AddressingEntropy(Tensor weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var w = weights.detach().to(float64);
        var entropy = -(w * ScalarMath.ClampMin(w, 1e-30).log()).sum(-1);
        return entropy.mean().item<double>();
    }

    /// <inheritdoc />
    public override string GetName() => $"BlockMemory(N={ItemCount}, D={ItemDimension}, T={Temperature}, shrink={ShrinkThreshold})";

    private Tensor Flatten(Tensor queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        if (queries.dim() < 1 || queries.shape[^1] != ItemDimension)
        {
            throw new ArgumentException(
                $"The queries' last dimension must equal the item dimension {ItemDimension}; got shape [{string.Join(", ", queries.shape)}].",
                nameof(queries));
        }

        return queries.reshape(-1, ItemDimension);
    }

    private Tensor AddressFlat(Tensor flat)
    {
        // cos(q, m) = (q·m) / (‖q‖‖m‖): one [M, N] product scaled by the inverse norms, which is
        // cheaper than normalising the [M, D] queries when D is large (see docs/benchmarks.md).
        var items = Items;
        var queryScale = ScalarMath.ClampMin(flat.norm(1, keepdim: true, p: 2), NormEpsilon).reciprocal();
        var itemScale = ScalarMath.ClampMin(items.norm(1, keepdim: false, p: 2), NormEpsilon).reciprocal();
        if (NormaliseCopies ?? ItemDimension < ItemCount)
        {
            var q = flat * queryScale;
            var m = items * itemScale.unsqueeze(1);
            var l = q.mm(m.t());
            var w = (Temperature != 1.0 ? ScalarMath.Div(l, Temperature) : l).softmax(-1);
            return ShrinkThreshold > 0 ? Shrink(w) : w;
        }

        if (Temperature != 1.0)
        {
            itemScale = ScalarMath.Div(itemScale, Temperature);
        }

        var logits = flat.mm(items.t()) * queryScale * itemScale;
        var weights = logits.softmax(-1);
        return ShrinkThreshold > 0 ? Shrink(weights) : weights;
    }

    private Tensor Shrink(Tensor weights)
    {
        var shifted = ScalarMath.Sub(weights, ShrinkThreshold);
        weights = nn.functional.relu(shifted) * weights / ScalarMath.Add(shifted.abs(), ShrinkEpsilon);
        return weights / ScalarMath.ClampMin(weights.sum(-1, keepdim: true), ShrinkEpsilon);
    }
}

using DivideAssemble.Graph;
using static TorchSharp.torch;
using A = DivideAssemble.Graph.OnnxGraph.Attribute;

namespace DivideAssemble.Scoring;

/// <summary>
/// The views an image is scored in (<see cref="ScoringOptions.FlipAveraging"/>): the image itself first, then each flip
/// training applied. A batch of B images becomes V·B images, view after view; per-pixel maps come back flipped to the
/// image's orientation and averaged, per-image values averaged. The ONNX forms compute the same in an exported graph.
/// </summary>
internal sealed class FlipViews
{
    private readonly long[][] dims;

    private FlipViews(long[][] dims) => this.dims = dims;

    /// <summary>Gets the number of views V (1, 2 or 4).</summary>
    public int Count => dims.Length;

    /// <summary>The views <paramref name="options"/> score with (<see cref="DaadOptions.ScoringFlips"/>).</summary>
    public static FlipViews Of(DaadOptions options)
    {
        var (horizontal, vertical) = options.ScoringFlips();
        var dims = new List<long[]> { Array.Empty<long>() };
        if (horizontal)
        {
            dims.Add(new long[] { 3 });
        }

        if (vertical)
        {
            dims.Add(new long[] { 2 });
        }

        if (horizontal && vertical)
        {
            dims.Add(new long[] { 2, 3 });
        }

        return new FlipViews(dims.ToArray());
    }

    /// <summary>Images <c>[B, C, S, S]</c> → every view of them, <c>[V·B, C, S, S]</c>.</summary>
    public Tensor Stack(Tensor images) => Count == 1 ? images : cat(dims.Select(d => d.Length == 0 ? images : images.flip(d)).ToArray(), 0);

    /// <summary>The first view's part (the images as given) of a tensor over every view.</summary>
    public Tensor First(Tensor views) => Count == 1 ? views : views.chunk(Count, 0)[0];

    /// <summary>Maps <c>[V·B, S, S]</c> → <c>[B, S, S]</c>: each view's maps flipped back, then their mean.</summary>
    public Tensor AverageMaps(Tensor maps)
    {
        if (Count == 1)
        {
            return maps;
        }

        var chunks = maps.chunk(Count, 0);
        var back = chunks.Select((m, i) => dims[i].Length == 0 ? m : m.flip(dims[i].Select(d => d - 1).ToArray())).ToArray();
        return stack(back).mean(new long[] { 0 });
    }

    /// <summary>Per-image values <c>[V·B]</c> → their mean over the views, <c>[B]</c>.</summary>
    public Tensor AverageValues(Tensor values) => Count == 1 ? values : values.reshape(Count, -1).mean(new long[] { 0 });

    /// <summary>The ONNX form of <see cref="Stack(Tensor)"/>.</summary>
    public string Stack(OnnxGraph graph, string images) =>
        Count == 1 ? images : graph.Node("Concat", dims.Select(d => Flip(graph, images, d)).ToArray(), A.Int("axis", 0));

    /// <summary>The ONNX form of <see cref="First(Tensor)"/> for a tensor of shape <c>[V·B, …]</c> with the given trailing dimensions.</summary>
    public string First(OnnxGraph graph, string views, params long[] trailing) =>
        Count == 1 ? views : graph.Reshape(Slice(graph, graph.Reshape(views, new long[] { Count, -1 }.Concat(trailing).ToArray()), 0, 0, 1), new long[] { -1 }.Concat(trailing).ToArray());

    /// <summary>The ONNX form of <see cref="AverageMaps(Tensor)"/> for maps of side <paramref name="size"/>.</summary>
    public string AverageMaps(OnnxGraph graph, string maps, int size)
    {
        if (Count == 1)
        {
            return maps;
        }

        // [V, B, S, S]: view i's maps flipped back on the axes its images were flipped on (2 and 3 here as there).
        string byView = graph.Reshape(maps, Count, -1, size, size);
        var back = dims.Select((d, i) => Flip(graph, Slice(graph, byView, 0, i, i + 1), d)).ToArray();
        string sum = graph.Node("Sum", back);
        return graph.Reshape(graph.Node("Div", new[] { sum, graph.Scalar("views", Count) }), -1, size, size);
    }

    /// <summary>The ONNX form of <see cref="AverageValues(Tensor)"/>.</summary>
    public string AverageValues(OnnxGraph graph, string values) =>
        Count == 1 ? values : graph.Reduce("ReduceMean", graph.Reshape(values, Count, -1), 0);

    /// <summary>Reverses <paramref name="input"/> along <paramref name="axes"/> (a Slice with step −1 on each).</summary>
    private static string Flip(OnnxGraph graph, string input, long[] axes)
    {
        if (axes.Length == 0)
        {
            return input;
        }

        long[] minus1 = axes.Select(_ => -1L).ToArray();
        return graph.Node("Slice", new[]
        {
            input,
            graph.Int64s("flip_starts", minus1, axes.Length),
            graph.Int64s("flip_ends", axes.Select(_ => long.MinValue).ToArray(), axes.Length),
            graph.Int64s("flip_axes", axes, axes.Length),
            graph.Int64s("flip_steps", minus1, axes.Length),
        });
    }

    /// <summary>Elements <paramref name="start"/> to <paramref name="end"/> (exclusive) of <paramref name="axis"/>.</summary>
    private static string Slice(OnnxGraph graph, string input, long axis, long start, long end) =>
        graph.Node("Slice", new[]
        {
            input,
            graph.Int64s("slice_starts", new[] { start }, 1),
            graph.Int64s("slice_ends", new[] { end }, 1),
            graph.Int64s("slice_axes", new[] { axis }, 1),
        });
}

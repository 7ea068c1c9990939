using DivideAssemble.Graph;
using DivideAssemble.Modules;
using static TorchSharp.torch;
using A = DivideAssemble.Graph.OnnxGraph.Attribute;

namespace DivideAssemble.Export;

/// <summary>
/// The networks of a trained model as ONNX nodes, from their state dictionaries: the generator with its
/// block memories (and the memory distance M(x) on the way), the DAAD+ discriminator's feature path and the
/// discriminative head. Batch norm runs in evaluation mode (its running statistics become a
/// BatchNormalization node); the convolutions' 16-channel padding (a training-only guard against oneDNN,
/// docs/platforms.md) is cut away.
/// </summary>
internal sealed class NetworkGraph
{
    private const float BatchNormEpsilon = 1e-5f;
    private const float NormEpsilon = 1e-12f;
    private readonly OnnxGraph graph;
    private readonly DaadOptions options;
    private readonly Dictionary<string, Tensor> generatorState;
    private readonly Dictionary<string, Tensor>? discriminatorState;
    private readonly Dictionary<string, Tensor>? headState;
    private readonly IReadOnlyList<ScalePlan> scales;
    private readonly bool memoryDistance;

    public NetworkGraph(OnnxGraph graph, ModelNetworks networks, DaadOptions options, bool memoryDistance)
    {
        this.graph = graph;
        this.options = options;
        this.memoryDistance = memoryDistance;
        generatorState = networks.Generator.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        discriminatorState = networks.Discriminator?.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        headState = networks.Head?.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        scales = networks.Generator.Scales;
    }

    /// <summary>Gets the name of M(x) <c>[N]</c> once <see cref="Generator"/> has built it (when asked for).</summary>
    public string? MemoryDistance { get; private set; }

    /// <summary>The generator: encoder, memory-read skips, decoder, into the value <paramref name="output"/>.</summary>
    public void Generator(string x, string output)
    {
        var net = options.Network;
        var features = new List<string>();
        string h = x;
        for (int i = 0; i < net.Depth; i++)
        {
            h = Conv($"encoder.{i}.conv.conv", h, net.StageWidth(i), kernel: 4, stride: 2, pad: 1, transposed: false, bias: false);
            h = BatchNorm($"encoder.{i}.bn", h);
            h = graph.Node("LeakyRelu", new[] { h }, A.FloatValue("alpha", 0.2f));
            features.Add(h);
        }

        // Decoder over the (memory-read) skips.
        h = Skip(net.Depth, features[^1]);
        for (int k = 0; k < net.Depth; k++)
        {
            int j = net.Depth - 1 - k;
            if (k > 0 && net.HasSkips)
            {
                h = graph.Node("Concat", new[] { h, Skip(j + 1, features[j]) }, A.Int("axis", 1));
            }

            int width = j == 0 ? net.StageWidth(0) : net.StageWidth(j - 1);
            h = Conv($"decoder.{k}.conv.conv", h, width, kernel: 4, stride: 2, pad: 1, transposed: true, bias: false);
            h = BatchNorm($"decoder.{k}.bn", h);
            h = graph.Node("Relu", new[] { h });
        }

        h = Conv("output.conv.conv", h, net.ResolvedChannels, kernel: 3, stride: 1, pad: 1, transposed: false, bias: true);
        graph.NodeTo("Tanh", new[] { h }, new[] { output });
    }

    /// <summary>The discriminative head on the image and its reconstruction: logits <c>[N, 1, S, S]</c>, as <see cref="DiscriminativeHead"/> computes them.</summary>
    public string Head(string x, string recon)
    {
        var state = headState ?? throw new InvalidOperationException("The model has no discriminative head.");
        var net = options.Network;
        int width = net.ResolvedHeadWidth, depth = net.HeadDepth;
        string Block(string key, string input, long outChannels, int kernel, int stride, int pad, bool transposed, bool leaky)
        {
            string h = BatchNorm($"{key}.bn", Conv($"{key}.conv.conv", input, outChannels, kernel, stride, pad, transposed, bias: false, state), state);
            return leaky ? graph.Node("LeakyRelu", new[] { h }, A.FloatValue("alpha", 0.2f)) : graph.Node("Relu", new[] { h });
        }

        var features = new List<string> { Block("stem", graph.Node("Concat", new[] { x, recon }, A.Int("axis", 1)), width, 3, 1, 1, transposed: false, leaky: true) };
        for (int i = 1; i <= depth; i++)
        {
            features.Add(Block($"down.{i - 1}", features[^1], (long)width << i, 4, 2, 1, transposed: false, leaky: true));
        }

        string up = features[^1];
        for (int k = 0; k < depth; k++)
        {
            int i = depth - k;
            string input = k == 0 ? up : graph.Node("Concat", new[] { up, features[i] }, A.Int("axis", 1));
            up = Block($"up.{k}", input, (long)width << (i - 1), 4, 2, 1, transposed: true, leaky: false);
        }

        return Conv("output.conv", graph.Node("Concat", new[] { up, features[0] }, A.Int("axis", 1)), 1, 3, 1, 1, transposed: false, bias: true, state);
    }

    /// <summary>One scale's skip: through its memory (divide, address, read, assemble) when it has one.</summary>
    private string Skip(int scale, string features)
    {
        var plan = scales[scale - 1];
        if (!plan.HasMemory)
        {
            return features;
        }

        long cl = plan.Channels, size = plan.Size, rc = plan.ChannelRatio, rh = plan.HeightRatio, rw = plan.WidthRatio;
        long q = plan.BlockCount, d = plan.BlockLength;
        var items = Values(generatorState[$"memories.scale{scale}.memory.<Items>k__BackingField"]);
        int n = options.Network.MemoryItems;

        // Divide: [N, C, H, W] → [N, Q, D] in the order of BlockDivider.
        string blocks = graph.Reshape(features, 0, rc, cl / rc, rh, size / rh, rw, size / rw);
        blocks = graph.Node("Transpose", new[] { blocks }, A.Ints("perm", 0, 1, 3, 5, 2, 4, 6));
        blocks = graph.Reshape(blocks, 0, q, d);

        // Address (eq. 1): softmax over cos(q, m)/T, the products scaled by the inverse norms as BlockMemory does.
        string itemsName = graph.Initializer($"memory{scale}.items", items, n, d);
        string itemsT = graph.Node("Transpose", new[] { itemsName }, A.Ints("perm", 1, 0));
        var itemScale = new float[n];
        for (int i = 0; i < n; i++)
        {
            double norm = 0;
            for (long k = 0; k < d; k++)
            {
                norm += (double)items[(i * d) + k] * items[(i * d) + k];
            }

            itemScale[i] = (float)(1.0 / Math.Max(Math.Sqrt(norm), NormEpsilon) / options.Network.MemoryTemperature);
        }

        string queryNorm = graph.Node("ReduceL2", new[] { blocks }, A.Ints("axes", 2), A.Int("keepdims", 1));
        string queryScale = graph.Node("Reciprocal", new[] { graph.Node("Max", new[] { queryNorm, graph.Scalar("eps", NormEpsilon) }) });
        string logits = graph.Node("MatMul", new[] { blocks, itemsT });
        logits = graph.Node("Mul", new[] { graph.Node("Mul", new[] { logits, queryScale }), graph.Initializer($"memory{scale}.item_scale", itemScale, n) });
        string weights = graph.Node("Softmax", new[] { logits }, A.Int("axis", -1));
        if (memoryDistance && scales.First(p => p.HasMemory).Scale == scale)
        {
            // M(x): 1 − the largest cosine (the logits times T), averaged over the blocks, as BlockMemory.Distance.
            string nearest = graph.Node("Mul", new[] { graph.Node("ReduceMax", new[] { logits }, A.Ints("axes", 2), A.Int("keepdims", 0)), graph.Scalar("temperature", (float)options.Network.MemoryTemperature) });
            MemoryDistance = graph.Node("ReduceMean", new[] { graph.Node("Sub", new[] { graph.Scalar("one", 1f), nearest }) }, A.Ints("axes", 1), A.Int("keepdims", 0));
        }

        double shrink = options.Network.ShrinkThreshold;
        if (shrink > 0)
        {
            string shifted = graph.Node("Sub", new[] { weights, graph.Scalar("shrink", (float)shrink) });
            string kept = graph.Node("Mul", new[] { graph.Node("Relu", new[] { shifted }), weights });
            weights = graph.Node("Div", new[] { kept, graph.Node("Add", new[] { graph.Node("Abs", new[] { shifted }), graph.Scalar("shrink_eps", NormEpsilon) }) });
            string total = graph.Node("ReduceSum", new[] { weights, graph.Int64s("last_axis", new long[] { -1 }, 1) }, A.Int("keepdims", 1));
            weights = graph.Node("Div", new[] { weights, graph.Node("Max", new[] { total, graph.Scalar("shrink_eps", NormEpsilon) }) });
        }

        // Read (eq. 2) and assemble: [N, Q, D] → [N, C, H, W].
        string read = graph.Node("MatMul", new[] { weights, itemsName });
        read = graph.Reshape(read, 0, rc, rh, rw, cl / rc, size / rh, size / rw);
        read = graph.Node("Transpose", new[] { read }, A.Ints("perm", 0, 1, 4, 2, 5, 3, 6));
        return graph.Reshape(read, 0, cl, size, size);
    }

    /// <summary>f_D: the discriminator's stages, flattened, projected (and L2-normalised when training normalised them).</summary>
    public string Features(string input)
    {
        var net = options.Network;
        int stages = (int)Math.Log2(net.ImageSize / 4);
        string h = input;
        for (int i = 0; i < stages; i++)
        {
            int width = (int)Math.Min((long)net.DiscriminatorBaseWidth << i, net.DiscriminatorMaxWidth);
            h = Conv($"stages.{i}.conv.conv", h, width, kernel: 4, stride: 2, pad: 1, transposed: false, bias: i == 0, discriminatorState);
            if (i > 0)
            {
                h = BatchNorm($"stages.{i}.bn", h, discriminatorState);
            }

            h = graph.Node("LeakyRelu", new[] { h }, A.FloatValue("alpha", 0.2f));
        }

        h = graph.Node("Flatten", new[] { h }, A.Int("axis", 1));
        var weight = discriminatorState!["projection.weight"];
        string features = graph.Node("Gemm", new[] { h, Weight("projection.weight", weight), Weight("projection.bias", discriminatorState["projection.bias"]) }, A.Int("transB", 1));
        if (options.Training.NormalizeFeatures)
        {
            string norm = graph.Node("ReduceL2", new[] { features }, A.Ints("axes", 1), A.Int("keepdims", 1));
            features = graph.Node("Div", new[] { features, graph.Node("Max", new[] { norm, graph.Scalar("eps", NormEpsilon) }) });
        }

        return features;
    }

    /// <summary>A SafeConv's convolution with the padded output channels cut to <paramref name="outChannels"/>.</summary>
    private string Conv(string key, string input, long outChannels, int kernel, int stride, int pad, bool transposed, bool bias, Dictionary<string, Tensor>? state = null)
    {
        state ??= generatorState;
        var w = state[key + ".weight"];
        string weight = transposed
            ? Weight(key + ".weight", w.narrow(1, 0, outChannels))
            : Weight(key + ".weight", w.narrow(0, 0, outChannels));
        var inputs = new List<string> { input, weight };
        if (bias)
        {
            inputs.Add(Weight(key + ".bias", state[key + ".bias"].narrow(0, 0, outChannels)));
        }

        return graph.Node(transposed ? "ConvTranspose" : "Conv", inputs.ToArray(), A.Ints("kernel_shape", kernel, kernel), A.Ints("strides", stride, stride), A.Ints("pads", pad, pad, pad, pad));
    }

    private string BatchNorm(string key, string input, Dictionary<string, Tensor>? state = null)
    {
        state ??= generatorState;
        return graph.Node(
            "BatchNormalization",
            new[] { input, Weight(key + ".weight", state[key + ".weight"]), Weight(key + ".bias", state[key + ".bias"]), Weight(key + ".running_mean", state[key + ".running_mean"]), Weight(key + ".running_var", state[key + ".running_var"]) },
            A.FloatValue("epsilon", BatchNormEpsilon));
    }

    private string Weight(string name, Tensor value) => graph.Initializer(name, Values(value), value.shape);

    private static float[] Values(Tensor t) => t.detach().to(float32).cpu().contiguous().data<float>().ToArray();
}

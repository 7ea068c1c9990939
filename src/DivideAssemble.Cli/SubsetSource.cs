namespace DivideAssemble.Cli;

/// <summary>A view of some images of another source.</summary>
internal sealed class SubsetSource : IImageSource
{
    private readonly IImageSource source;
    private readonly IReadOnlyList<int> indices;

    public SubsetSource(IImageSource source, IReadOnlyList<int> indices)
    {
        this.source = source;
        this.indices = indices;
    }

    public int Count => indices.Count;

    public string GetName(int index) => source.GetName(indices[index]);

    public void Read(int index, int channels, int size, Span<float> destination) => source.Read(indices[index], channels, size, destination);
}

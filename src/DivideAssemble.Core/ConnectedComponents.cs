namespace DivideAssemble;

/// <summary>8-connected component labelling of binary masks (defect regions, ground-truth regions).</summary>
internal static class ConnectedComponents
{
    /// <summary>Labels each true pixel with its component (0-based, in scan order of first pixel); −1 for false pixels.</summary>
    public static (int[] Labels, int Count) Label(bool[] mask, int width, int height)
    {
        var labels = new int[mask.Length];
        Array.Fill(labels, -1);
        int next = 0;
        var stack = new Stack<int>();
        for (int start = 0; start < labels.Length; start++)
        {
            if (!mask[start] || labels[start] >= 0)
            {
                continue;
            }

            labels[start] = next;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int p = stack.Pop();
                int y = p / width, x = p % width;
                for (int dy = -1; dy <= 1; dy++)
                {
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int ny = y + dy, nx = x + dx;
                        if (ny < 0 || nx < 0 || ny >= height || nx >= width)
                        {
                            continue;
                        }

                        int q = (ny * width) + nx;
                        if (mask[q] && labels[q] < 0)
                        {
                            labels[q] = next;
                            stack.Push(q);
                        }
                    }
                }
            }

            next++;
        }

        return (labels, next);
    }

    /// <summary>Connected regions (8-connectivity) of a binary mask, largest first.</summary>
    public static List<DefectRegion> Regions(bool[] mask, float[] map, int size)
    {
        var (labels, count) = Label(mask, size, size);
        var minX = new int[count];
        var minY = new int[count];
        var maxX = new int[count];
        var maxY = new int[count];
        var area = new int[count];
        var peak = new double[count];
        Array.Fill(minX, int.MaxValue);
        Array.Fill(minY, int.MaxValue);
        Array.Fill(maxX, -1);
        Array.Fill(maxY, -1);
        Array.Fill(peak, double.NegativeInfinity);
        for (int p = 0; p < labels.Length; p++)
        {
            int k = labels[p];
            if (k < 0)
            {
                continue;
            }

            int y = p / size, x = p % size;
            area[k]++;
            peak[k] = Math.Max(peak[k], map[p]);
            minX[k] = Math.Min(minX[k], x);
            maxX[k] = Math.Max(maxX[k], x);
            minY[k] = Math.Min(minY[k], y);
            maxY[k] = Math.Max(maxY[k], y);
        }

        var regions = Enumerable.Range(0, count)
            .Select(k => new DefectRegion(minX[k], minY[k], maxX[k] - minX[k] + 1, maxY[k] - minY[k] + 1, area[k], peak[k]))
            .ToList();
        regions.Sort((a, b) => b.Area.CompareTo(a.Area));
        return regions;
    }
}

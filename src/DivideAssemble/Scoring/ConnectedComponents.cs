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
}

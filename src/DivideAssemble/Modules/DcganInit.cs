using DivideAssemble.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DivideAssemble.Modules;

/// <summary>DCGAN-style initialisation: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0.</summary>
internal static class DcganInit
{
    public static void Apply(nn.Module root)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in root.named_modules())
        {
            switch (module)
            {
                case Conv2d c:
                    nn.init.normal_(c.weight, 0.0, 0.02);
                    if (c.bias is not null)
                    {
                        nn.init.zeros_(c.bias);
                    }

                    break;
                case ConvTranspose2d t:
                    nn.init.normal_(t.weight, 0.0, 0.02);
                    if (t.bias is not null)
                    {
                        nn.init.zeros_(t.bias);
                    }

                    break;
                case SafeBatchNorm2d bn:
                    nn.init.normal_(bn.Weight, 1.0, 0.02);
                    nn.init.zeros_(bn.Bias);
                    break;
                case Linear lin:
                    nn.init.normal_(lin.weight, 0.0, 0.02);
                    if (lin.bias is not null)
                    {
                        nn.init.zeros_(lin.bias);
                    }

                    break;
            }
        }
    }
}

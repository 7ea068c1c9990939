using DivideAssemble.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Modules;

/// <summary>
/// Eq. 1–2 (cosine addressing at temperature T, softmax, read) as one autograd function with a
/// hand-written backward that reuses what the forward computed, so a training step costs the six
/// matrix products every implementation needs (two forward, four backward) plus a few elementwise
/// passes, instead of the extra temporaries of differentiating the norms op by op.
/// </summary>
/// <remarks>
/// <para>Two formulations give the same weights; the cheaper one is chosen by shape. When the block
/// dimension D is at least the number of items N, the raw products <c>P = q·mᵀ</c> are scaled by the
/// inverse norms, <c>L = P ⊙ s_q ⊙ s_mᵀ</c> with <c>s_q = 1/|q|</c> and <c>s_m = 1/(T|m|)</c> (one pass
/// over <c>[M, N]</c>); when D &lt; N (per-pixel blocks, where <c>[M, N]</c> is the large tensor)
/// normalised copies of the queries and items are multiplied instead.</para>
/// <para>Backward, with <c>dL = W ⊙ (dW − Σ_j dW_j W_j)</c> the softmax's input gradient: in the scaled
/// form <c>dP = dL ⊙ s_q ⊙ s_mᵀ</c>, <c>dq = dP·m − (Σ_j dL_ij L_ij)·s_q,i²·q_i</c> and
/// <c>dm = Wᵀ·dR + dPᵀ·q − (Σ_i dL_ij L_ij)·T²·s_m,j²·m_j</c>; in the copies form the copies'
/// gradients are projected off the copies. A norm clamped at 1e-12 passes no gradient, as clamp's own
/// gradient. Both forms are checked against float64 eq. 1–2 and against autograd.</para>
/// </remarks>
internal static class MemoryRead
{
    private const double Epsilon = 1e-12;

    /// <summary>Reads the memory for flat queries <c>[M, D]</c> from items <c>[N, D]</c> at <paramref name="temperature"/>; differentiable in both.</summary>
    public static Tensor Read(Tensor queries, Tensor items, double temperature, bool normaliseCopies) =>
        normaliseCopies ? CopiesForm.apply(queries, items, temperature) : ScaledForm.apply(queries, items, temperature);

    /// <summary>
    /// The tensors to save for backward, moved out of the forward's dispose scope: autograd records them
    /// only after forward returns, and keeps its own references until backward has run.
    /// </summary>
    private static List<Tensor> Keep(params Tensor[] tensors) => tensors.Select(t => t.MoveToOuterDisposeScope()).ToList();

    /// <summary>The row norms of queries and items (clamped at 1e-12 for the scales) and the inverse-norm scales <c>s_q = 1/|q|</c>, <c>1/|m|</c> and <c>s_m = 1/(T|m|)</c>.</summary>
    private static (Tensor QNorm, Tensor MNorm, Tensor QScale, Tensor MUnitScale, Tensor MScale) Scales(Tensor q, Tensor m, double temperature)
    {
        var qNorm = q.norm(1, keepdim: true, p: 2);
        var mNorm = m.norm(1, keepdim: true, p: 2);
        var qScale = ScalarMath.ClampMin(qNorm, Epsilon).reciprocal();
        var mUnitScale = ScalarMath.ClampMin(mNorm, Epsilon).reciprocal();
        return (qNorm, mNorm, qScale, mUnitScale, ScalarMath.Div(mUnitScale, temperature));
    }

    /// <summary>1 where a norm is at least the clamp, else 0: a clamped norm passes no gradient.</summary>
    private static Tensor Kept(Tensor norm)
    {
        using var epsilon = Epsilon.ToScalar();
        return norm.ge(epsilon).to(norm.dtype);
    }

    /// <summary>The softmax's input gradient from the read's: <c>dL = W ⊙ (dW − Σ_j dW_j W_j)</c> with <c>dW = dR·mᵀ</c>; also returns <c>Wᵀ·dR</c>.</summary>
    private static (Tensor GradLogits, Tensor GradItems) ReadAndSoftmax(Tensor gradRead, Tensor weights, Tensor items)
    {
        var gradWeights = gradRead.mm(items.t());
        var gradItems = weights.t().mm(gradRead);
        var rowDot = (gradWeights * weights).sum(-1, keepdim: true);
        return (gradWeights.sub_(rowDot).mul_(weights), gradItems);
    }

    /// <summary>L = (q·mᵀ) ⊙ s_q ⊙ s_mᵀ: used when D ≥ N, where the <c>[M, N]</c> products are the small tensor.</summary>
    internal sealed class ScaledForm : autograd.SingleTensorFunction<ScaledForm>
    {
        public override string Name => "BlockMemoryReadScaled";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var q = (Tensor)vars[0];
            var m = (Tensor)vars[1];
            double temperature = (double)vars[2];
            using var scope = NewDisposeScope();
            var (qNorm, mNorm, qScale, _, mScale) = Scales(q, m, temperature);
            var logits = q.mm(m.t()).mul_(qScale).mul_(mScale.t());
            var weights = logits.softmax(-1);
            var read = weights.mm(m);

            // The norms' gradient factors: s_q² for queries, T²·s_m² = 1/|m|² for items, zero where clamped.
            var qFactor = qScale * qScale * Kept(qNorm);
            var mFactor = ScalarMath.Mul(mScale * mScale, temperature * temperature) * Kept(mNorm);
            ctx.save_for_backward(Keep(q, m, weights, logits, qScale, mScale, qFactor, mFactor));
            return read.MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradRead)
        {
            var saved = ctx.get_saved_variables();
            Tensor q = saved[0], m = saved[1], weights = saved[2], logits = saved[3], qScale = saved[4], mScale = saved[5], qFactor = saved[6], mFactor = saved[7];
            var (gradLogits, gradItems) = ReadAndSoftmax(gradRead, weights, m);

            // The norms' shares need Σ dL ⊙ L along each axis, before dL is rescaled in place into dP = dL ⊙ s_q ⊙ s_mᵀ.
            var shared = gradLogits * logits;
            var rowShare = shared.sum(-1, keepdim: true) * qFactor;
            var columnShare = shared.sum(0, keepdim: true).t() * mFactor;
            var gradProducts = gradLogits.mul_(qScale).mul_(mScale.t());

            // In place where the result has a home: no [M, D] or [N, D] temporaries (each a fresh, page-faulting allocation).
            var gradQueries = gradProducts.mm(m).addcmul_(q, rowShare, ScalarMath.MinusOne);
            gradItems.addmm_(gradProducts.t(), q, 1, 1).addcmul_(m, columnShare, ScalarMath.MinusOne);
            return new List<Tensor> { gradQueries, gradItems, null! };
        }
    }

    /// <summary>L = (q·s_q)·(m·s_m)ᵀ on normalised copies: used when D &lt; N, where <c>[M, N]</c> is the large tensor.</summary>
    internal sealed class CopiesForm : autograd.SingleTensorFunction<CopiesForm>
    {
        public override string Name => "BlockMemoryReadCopies";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var q = (Tensor)vars[0];
            var m = (Tensor)vars[1];
            double temperature = (double)vars[2];
            using var scope = NewDisposeScope();
            var (qNorm, mNorm, qScale, mUnitScale, mScale) = Scales(q, m, temperature);
            var qn = q * qScale;
            var mn = m * mScale;
            var weights = qn.mm(mn.t()).softmax(-1);
            var read = weights.mm(m);
            var mUnit = m * mUnitScale;
            ctx.save_for_backward(Keep(qn, mn, mUnit, m, weights, qScale, mScale, Kept(qNorm), Kept(mNorm)));
            return read.MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradRead)
        {
            var saved = ctx.get_saved_variables();
            Tensor qn = saved[0], mn = saved[1], mUnit = saved[2], m = saved[3], weights = saved[4], qScale = saved[5], mScale = saved[6], qKeep = saved[7], mKeep = saved[8];
            var (gradLogits, gradItems) = ReadAndSoftmax(gradRead, weights, m);

            // Through x' = s·x: dx = s·(dx' − x̂·(x̂·dx')) with x̂ the unit vector (the projection dropped where the norm was clamped).
            var gradQueries = ProjectOff(gradLogits.mm(mn), qn, qScale, qKeep);
            gradItems.add_(ProjectOff(gradLogits.t().mm(qn), mUnit, mScale, mKeep), ScalarMath.One);
            return new List<Tensor> { gradQueries, gradItems, null! };
        }

        private static Tensor ProjectOff(Tensor gradCopy, Tensor unit, Tensor scale, Tensor keep)
        {
            var along = (gradCopy * unit).sum(-1, keepdim: true).mul_(keep);
            return gradCopy.addcmul_(unit, along, ScalarMath.MinusOne).mul_(scale);
        }
    }
}

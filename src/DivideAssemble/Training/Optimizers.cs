using DivideAssemble.Modules;
using DivideAssemble.Torch;

namespace DivideAssemble.Training;

/// <summary>The optimisers of the recipe: Adam with the options' rates, betas and weight decay for the generator and (DAAD+) the discriminator.</summary>
internal static class Optimizers
{
    /// <summary>Adam for every network of <paramref name="networks"/>.</summary>
    public static AdamOptimizers For(TrainingOptions training, ModelNetworks networks) =>
        new(ForGenerator(training, networks.Generator), ForDiscriminator(training, networks.Discriminator), ForHead(training, networks.Head));

    public static AdamOptimizer ForGenerator(TrainingOptions training, DaadGenerator generator) =>
        new(generator.parameters(), training.LearningRate, training.Beta1, training.Beta2, training.WeightDecay);

    public static AdamOptimizer? ForHead(TrainingOptions training, DiscriminativeHead? head) => head is null
        ? null
        : new(head.parameters(), training.HeadLearningRate, training.Beta1, training.Beta2, training.WeightDecay);

    public static AdamOptimizer? ForDiscriminator(TrainingOptions training, DcganDiscriminator? discriminator) => discriminator is null
        ? null
        : new(discriminator.parameters(), training.DiscriminatorLearningRate, training.Beta1, training.Beta2, training.WeightDecay);
}

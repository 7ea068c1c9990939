// Trains DAAD+ with the paper's full recipe on one MVTec-AD category and evaluates it.
//   dotnet run --project samples/MvtecTraining -c Release -- <category folder> [--device cuda] [--epochs 1000]
//       [--image-size 256] [--out model.daad] [--checkpoint run.ckpt]
// The full recipe (256×256, width 64, 1000 epochs) takes days on a CPU and hours on a GPU.
return DivideAssemble.Samples.MvtecTraining.Run(args, Console.Out);

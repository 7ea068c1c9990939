// Scores a folder of images with an exported model on ONNX Runtime only (no TorchSharp, no libtorch).
//   dotnet run --project src/DivideAssemble.Cli -c Release -- export --model grass.daad --out grass.onnx
//   dotnet run --project samples/OnnxScoring -c Release -- grass.onnx ../shared/data/textures/grass/test
//   dotnet publish samples/OnnxScoring -c Release -r linux-x64      # a deployable folder without libtorch
return DivideAssemble.Samples.OnnxScoring.OnnxScoringSample.Run(args, Console.Out);

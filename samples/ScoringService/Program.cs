// A minimal web API that scores uploaded images with a trained DivideAssemble model.
//   dotnet run --project samples/ScoringService -c Release -- --Model:ModelPath=grass.daad --urls http://127.0.0.1:5080
//   curl --data-binary @part.png http://127.0.0.1:5080/score
DivideAssemble.Samples.ScoringService.ScoringApp.Build(args).Run();

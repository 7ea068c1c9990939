using DivideAssemble.Cli;

return await DaadTool.RunAsync(args, Console.Out, Console.Error);

global using DivideAssemble.Evaluation;
global using DivideAssemble.Hosting;
global using DivideAssemble.Persistence;
global using DivideAssemble.Torch;
global using DivideAssemble.Training;

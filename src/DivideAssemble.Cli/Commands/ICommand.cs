namespace DivideAssemble.Cli.Commands;

/// <summary>One <c>daad</c> command: reads its options from the parsed arguments, writes to the given streams, returns the exit code.</summary>
internal interface ICommand
{
    /// <summary>Gets the command's name on the command line.</summary>
    string Name { get; }

    /// <summary>Runs the command; a usage error is a <see cref="UsageException"/>, any other failure an exception whose message is shown as one line.</summary>
    int Run(Arguments arguments, TextWriter stdout, TextWriter stderr);
}

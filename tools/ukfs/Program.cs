using RumpFs.Tools.Ukfs;

using Stream stdout = Console.OpenStandardOutput();
return Cli.Run(args, Console.Out, Console.Error, progress: !Console.IsErrorRedirected, stdout);

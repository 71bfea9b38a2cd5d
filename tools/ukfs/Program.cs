using RumpFs.Tools.Ukfs;

return Cli.Run(args, Console.Out, Console.Error, progress: !Console.IsErrorRedirected);

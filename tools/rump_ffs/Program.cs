// Placeholder entry point until this tool's issue lands.
Console.Error.WriteLine("rump_ffs: not built yet");
return 1;

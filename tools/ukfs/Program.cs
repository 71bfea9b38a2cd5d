// Placeholder entry point until this tool's issue lands.
Console.Error.WriteLine("ukfs: not built yet");
return 1;

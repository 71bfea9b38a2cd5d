// Placeholder entry point until this tool's issue lands.
Console.Error.WriteLine("rump_ext2fs: not built yet");
return 1;

// The tool drives Linux images on Linux hosts (modes, links, device nodes).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

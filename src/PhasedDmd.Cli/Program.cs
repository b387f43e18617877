using PhasedDmd.Cli;

return PhasedDmdApp.Run(args);

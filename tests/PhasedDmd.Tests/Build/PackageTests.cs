using PhasedDmd.Build;
using System.Text.RegularExpressions;
using Xunit;

namespace PhasedDmd.Tests.Build;

/// <summary>
/// The library as a package: it packs, a project outside the repository builds against the package alone
/// (its libstdc++ fix included, from buildTransitive), and runs a forward pass and a distillation. The CLI as
/// a .NET tool: it packs, installs from a local folder and runs. And the backend property picks the native
/// libtorch package of an application.
/// </summary>
[Collection(SerialCollection.Name)]   // a nested build: one at a time, not beside the training tests
public class PackageTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(6);

    [Fact]
    public void The_packed_library_builds_and_runs_a_consumer_project_outside_the_repository()
    {
        var root = TestUtil.RepoRoot();
        var work = TestUtil.TempDir("pdmd-package");
        var feed = Path.Combine(work, "feed");
        // A version of its own, so that the NuGet cache never serves an older package of the same number.
        var version = $"0.0.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        var cached = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                                  ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), "phaseddmd", version);
        try
        {
            var (code, output) = Dotnet.Run(root, Timeout, "pack", "src/PhasedDmd/PhasedDmd.csproj", "-c", Dotnet.Configuration, "--no-build",
                "-o", feed, $"-p:PackageVersion={version}", "--disable-build-servers");
            Assert.True(code == 0, output);
            var nupkg = Path.Combine(feed, $"PhasedDmd.{version}.nupkg");
            Assert.True(File.Exists(nupkg), output);
            using (var zip = System.IO.Compression.ZipFile.OpenRead(nupkg))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
                foreach (var expected in new[] { "lib/net10.0/PhasedDmd.dll", "lib/net10.0/PhasedDmd.xml", "README.md",
                                                 "buildTransitive/PhasedDmd.targets", "buildTransitive/LibStdCxxWeakVersionPatcher.cs" })
                    Assert.Contains(expected, entries);
                var nuspec = new StreamReader(zip.GetEntry("PhasedDmd.nuspec")!.Open()).ReadToEnd();
                Assert.Contains("<license type=\"expression\">MIT</license>", nuspec);
                Assert.Contains("<dependency id=\"TorchSharp\"", nuspec);
                Assert.DoesNotContain("<dependency id=\"libtorch", nuspec);   // the library chooses no backend
            }

            // The consumer: the repository's C# example, copied out of the repository so that no build file of ours reaches it.
            var consumer = Path.Combine(work, "consumer");
            Directory.CreateDirectory(consumer);
            foreach (var file in new[] { "UseFromCSharp.csproj", "Program.cs" })
                File.Copy(Path.Combine(root, "examples", "UseFromCSharp", file), Path.Combine(consumer, file));
            File.WriteAllText(Path.Combine(work, "Directory.Build.props"), "<Project />");
            File.WriteAllText(Path.Combine(work, "Directory.Build.targets"), "<Project />");
            File.WriteAllText(Path.Combine(consumer, "nuget.config"),
                $"<configuration><packageSources><add key=\"test-feed\" value=\"{feed}\" /></packageSources></configuration>");

            (code, output) = Dotnet.Run(consumer, Timeout, "build", "-c", "Release", $"-p:PhasedDmdVersion={version}", "--disable-build-servers");
            Assert.True(code == 0, output);
            var assets = File.ReadAllText(Path.Combine(consumer, "obj", "project.assets.json"));
            Assert.Contains($"\"PhasedDmd/{version}\"", assets);
            Assert.DoesNotContain("\"type\": \"project\"", assets);          // the package, not a project reference
            Assert.Contains("libtorch-cpu-linux-x64/", assets);               // the consumer's own backend choice
            if (!ElfVersionPatcher.SystemLibStdCxxProvides(ElfVersionPatcher.DefaultVersionName, out _))   // the fix arrived through buildTransitive
            {
                var native = Path.Combine(consumer, "bin", "Release", "net10.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
                Assert.Equal(ElfPatchStatus.AlreadyPatched, ElfVersionPatcher.Patch(File.ReadAllBytes(native)).Status);
            }

            (code, output) = Dotnet.Run(consumer, Timeout, Path.Combine("bin", "Release", "net10.0", "UseFromCSharp.dll"), Path.Combine(work, "run"), "3");
            Assert.True(code == 0, output);
            Assert.Contains("teacher velocity: shape [4, 2], finite True", output);
            Assert.Contains("student (student): 4 steps, 2 experts", output);
            Assert.Matches(@"student samples: shape \[1000, 2\], mean radius \d", output);
            Assert.True(File.Exists(Path.Combine(work, "run", "student", "model.json")));
        }
        finally
        {
            if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void The_tool_package_installs_and_runs_from_any_directory_with_its_shipped_teachers()
    {
        var root = TestUtil.RepoRoot();
        var work = TestUtil.TempDir("pdmd-tool");
        var feed = Path.Combine(work, "feed");
        var tools = Path.Combine(work, "tools");
        var version = $"0.0.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        try
        {
            var (code, output) = Dotnet.Run(root, Timeout, "pack", "src/PhasedDmd.Cli/PhasedDmd.Cli.csproj", "-c", Dotnet.Configuration, "--no-build",
                "-o", feed, $"-p:PackageVersion={version}", "--disable-build-servers");
            Assert.True(code == 0, output);
            (code, output) = Dotnet.Run(work, Timeout, "tool", "install", "--tool-path", tools, "--add-source", feed, "PhasedDmd.Cli", "--version", version);
            Assert.True(code == 0, output);

            var exe = Path.Combine(tools, "phased-dmd");
            var (vcode, vout) = Run(exe, work, "--version");
            Assert.True(vcode == 0, vout);
            Assert.Matches(@"^0\.1\.0", vout.Trim());

            // The package carries the shipped teachers and a libTorchSharp that loads on an old libstdc++ wherever it was packed.
            var installed = Directory.GetDirectories(Path.Combine(tools, ".store"), "any", SearchOption.AllDirectories).Single();
            var teacher = Path.Combine(installed, "assets", "teachers", "ring8");
            Assert.True(File.Exists(Path.Combine(teacher, "model.json")), $"no shipped ring8 teacher under {installed}");
            var native = Path.Combine(installed, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
            Assert.Equal(ElfPatchStatus.AlreadyPatched, ElfVersionPatcher.Patch(File.ReadAllBytes(native)).Status);

            var csv = Path.Combine(work, "samples.csv");
            var (scode, sout) = Run(exe, work, "sample", "--model", teacher, "--n", "100", "--out", csv);
            Assert.True(scode == 0, sout);
            Assert.Equal(101, File.ReadAllLines(csv).Length);   // header + 100 samples
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static (int Code, string Output) Run(string exe, string workingDirectory, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(exe) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(info)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(Timeout)) { p.Kill(entireProcessTree: true); return (-1, "timed out"); }
        return (p.ExitCode, output + err.Result);
    }

    [Theory]
    [InlineData("cpu", "libtorch-cpu-linux-x64")]
    [InlineData("cuda", "libtorch-cuda-12.8-linux-x64")]
    public void The_backend_property_chooses_the_native_package_of_an_application(string backend, string package)
    {
        var root = TestUtil.RepoRoot();
        foreach (var project in new[] { "src/PhasedDmd.Cli/PhasedDmd.Cli.csproj", "src/PhasedDmd/PhasedDmd.csproj" })
        {
            var (code, output) = Dotnet.Run(root, Timeout, "msbuild", project, "-getItem:PackageReference", $"-p:PhasedDmdBackend={backend}", "-nologo");
            Assert.True(code == 0, output);
            var natives = Regex.Matches(output, "\"Identity\":\\s*\"(libtorch[^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
            if (project.Contains("Cli")) Assert.Equal([package], natives);
            else Assert.Empty(natives);   // the library references TorchSharp only
        }
    }

    [Fact]
    public void An_unknown_backend_is_a_build_error_naming_the_value()
    {
        var (code, output) = Dotnet.Run(TestUtil.RepoRoot(), Timeout, "msbuild", "src/PhasedDmd.Cli/PhasedDmd.Cli.csproj", "-t:PhasedDmdCheckBackend",
            "-p:PhasedDmdBackend=rocm", "-nologo");
        Assert.NotEqual(0, code);
        Assert.Contains("PhasedDmdBackend must be cpu or cuda (got 'rocm')", output);
    }
}

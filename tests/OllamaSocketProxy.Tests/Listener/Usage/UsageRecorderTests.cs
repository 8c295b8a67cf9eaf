using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Infrastructure;
using OllamaSocketProxy.Tests.Listener.Gateway;
using static OllamaSocketProxy.Tests.Listener.Usage.UsageFixtures;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>
/// The hourly rows between the request path and the database: flushes driven by a fake clock, drops beyond the bound,
/// many threads at once, rows forgotten when long past, and a failing database (locked, corrupt, newer) that the
/// caller never feels.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UsageRecorderTests
{
    [Test]
    public async Task Records_AreWrittenWhenTheFlushIntervalPasses()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var time = Clock();
        await using var recorder = new UsageRecorder(new UsageStore(path, time, new LogLines()), time, new LogLines(), Interval);

        Assert.That(recorder.TryRecord(Record(prompt: 5, completion: 7)), Is.True);
        Assert.That(recorder.TryRecord(Record(prompt: 1, completion: 1)), Is.True);
        var flushed = recorder.NextFlush;
        time.Advance(Interval - TimeSpan.FromTicks(1));
        Assert.That(flushed.IsCompleted, Is.False, "no flush before the interval");
        time.Advance(TimeSpan.FromTicks(1));

        Assert.That(await flushed.OrTimeoutAsync(), Is.True);
        var row = Query(path).Rows.Single();
        Assert.That((row.Requests, row.PromptTokens, row.CompletionTokens), Is.EqualTo((2L, 6L, 8L)));
    }

    [Test]
    public async Task RecordsOfManyRows_InOneFlush_AreEachSummedIntoTheirOwnRow()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var time = Clock();
        await using var recorder = new UsageRecorder(new UsageStore(path, time, new LogLines()), time, new LogLines(), Interval);

        // Runs of one row, rows that come back, an equal name in another string, the next hour and another status class.
        recorder.TryRecord(Record(prompt: 1));
        recorder.TryRecord(Record(prompt: 2));
        recorder.TryRecord(Record(client: "bob", prompt: 4));
        recorder.TryRecord(Record(client: new string("alice".AsSpan()), prompt: 8));
        recorder.TryRecord(Record(at: Start.AddHours(1), prompt: 16));
        recorder.TryRecord(Record(status: 503, prompt: 32));
        recorder.TryRecord(Record(client: "bob", prompt: 64));
        recorder.TryRecord(Record(prompt: 128));
        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);

        var rows = Query(path, UsageGrouping.Client | UsageGrouping.Hour | UsageGrouping.Status).Rows;
        var hour = new DateTimeOffset(Start.Year, Start.Month, Start.Day, Start.Hour, 0, 0, TimeSpan.Zero);
        Assert.That(rows.Select(row => (row.Hour, row.Client, row.Status, row.Requests, row.PromptTokens)), Is.EquivalentTo(new[]
        {
            ((DateTimeOffset?)hour, "alice", "2xx", 4L, 139L),
            (hour, "alice", "5xx", 1L, 32L),
            (hour, "bob", "2xx", 2L, 68L),
            (hour.AddHours(1), "alice", "2xx", 1L, 16L),
        }));
    }

    [Test]
    public async Task Dispose_WritesWhatIsLeft_AndARestartAddsToIt()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var time = Clock();

        await using (var first = new UsageRecorder(new UsageStore(path, time, new LogLines()), time, new LogLines(), Interval))
        {
            first.TryRecord(Record(prompt: 1, completion: 2));
            first.TryRecord(Record(client: "bob"));
        }

        Assert.That(Query(path).Rows.Single().Requests, Is.EqualTo(2), "written on dispose, with no interval passed");

        await using (var second = new UsageRecorder(new UsageStore(path, time, new LogLines()), time, new LogLines(), Interval))
        {
            second.TryRecord(Record(prompt: 100, completion: 200));
        }

        var rows = Query(path, UsageGrouping.Client).Rows;
        Assert.That(rows.Select(row => (row.Client, row.Requests, row.PromptTokens, row.CompletionTokens)), Is.EqualTo(new[]
        {
            ("alice", 2L, 101L, 202L),
            ("bob", 1L, 10L, 20L),
        }));
    }

    [Test]
    public async Task RowsOverTheBound_AreDroppedAndCountedWithoutBlocking_AndLoggedOncePerChange()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var time = Clock();
        var logs = new LogLines();
        await using var recorder = new UsageRecorder(new UsageStore(path, time, logs), time, logs, Interval, maxRows: 4);

        // Seven clients: the rows of the first four fit, the other three would be rows too many.
        var accepted = Enumerable.Range(0, 7).Select(i => recorder.TryRecord(Record(client: $"client-{i}"))).ToList();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(accepted, Is.EqualTo(new[] { true, true, true, true, false, false, false }));
            Assert.That(recorder.DroppedCount, Is.EqualTo(3));
            Assert.That(recorder.TryRecord(Record(client: "client-0")), Is.True, "a row in memory takes more");
        }

        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);
        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Query(path).Rows.Single().Requests, Is.EqualTo(5));
            Assert.That(logs.Lines.Where(line => line.Contains("dropped", StringComparison.Ordinal)), Is.EqualTo(new[]
            {
                "Warning usage: Usage records dropped: the hourly rows in memory reached their bound, or the recorder had stopped (3 so far)",
                "Information usage: Usage records no longer dropped (3 in all)",
            }));
        }
    }

    [Test]
    [NonParallelizable]
    public async Task TryRecord_AllocatesNothingOnceItsRowExists()
    {
        using var folder = new TemporaryFolder();
        var time = Clock();
        await using var recorder = new UsageRecorder(new UsageStore(folder.File("usage.db"), time, new LogLines()), time, new LogLines(), Interval);
        var record = Record();
        UsageCell? recent = null;
        recorder.TryRecord(record, ref recent);
        recorder.TryRecord(record);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var accepted = 0;
        for (var i = 0; i < 30; i++)
        {
            accepted += recorder.TryRecord(record, ref recent) ? 1 : 0;
            accepted += recorder.TryRecord(record) ? 1 : 0;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That((accepted, allocated), Is.EqualTo((60, 0L)));
    }

    [Test]
    public async Task ManyThreadsRecordingAtOnce_EveryRequestIsCounted()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var time = Clock();
        await using var recorder = new UsageRecorder(new UsageStore(path, time, new LogLines()), time, new LogLines(), Interval);
        const int Threads = 4;
        const int PerThread = 20_000;

        // Each thread keeps its last row, as a connection does, and moves between three rows. A flush is written
        // between the halves of every thread's records, and flushes run back to back while they record.
        using var halfway = new CountdownEvent(Threads);
        using var flushedOnce = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            UsageCell? recent = null;
            for (var i = 0; i < PerThread; i++)
            {
                if (i == PerThread / 2)
                {
                    halfway.Signal();
                    flushedOnce.Wait();
                }

                recorder.TryRecord(Record(client: (i % 3) switch { 0 => "alice", 1 => "bob", _ => "carol" }, prompt: 1, completion: 2, durationMs: 1 + (i % 7)), ref recent);
            }
        })).ToList();
        threads.ForEach(thread => thread.Start());
        Assert.That(halfway.Wait(EventTimeout.Limit), Is.True);
        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);
        flushedOnce.Set();
        while (threads.Any(thread => thread.IsAlive))
        {
            Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);
        }

        threads.ForEach(thread => thread.Join());
        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);

        var rows = Query(path, UsageGrouping.Client).Rows;
        Assert.That(rows.Sum(row => row.Requests), Is.EqualTo(Threads * PerThread));
        Assert.That(rows.Select(row => (row.Client, row.Requests, row.PromptTokens, row.CompletionTokens, row.MaxDurationMicroseconds)), Is.EqualTo(new[]
        {
            ("alice", 26_668L, 26_668L, 53_336L, 7_000L),
            ("bob", 26_668L, 26_668L, 53_336L, 7_000L),
            ("carol", 26_664L, 26_664L, 53_328L, 7_000L),
        }));
    }

    [Test]
    public async Task RowOfAnHourLongPast_IsForgottenOnceWritten_AndALateRequestForItStillCounts()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var time = Clock();
        await using var recorder = new UsageRecorder(new UsageStore(path, time, new LogLines()), time, new LogLines(), Interval);

        recorder.TryRecord(Record(prompt: 1));
        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);
        Assert.That(recorder.Rows, Is.EqualTo(1), "its hour runs");

        // 13:20 to 14:59: the row's hour ended less than an hour ago, and it stays.
        time.Advance(TimeSpan.FromMinutes(99));
        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);
        Assert.That(recorder.Rows, Is.EqualTo(1), "an hour after its own");

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);
        Assert.That(recorder.Rows, Is.Zero, "written, and its hour long past");

        recorder.TryRecord(Record(prompt: 2));
        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);
        var row = Query(path).Rows.Single();
        Assert.That((row.Requests, row.PromptTokens), Is.EqualTo((2L, 3L)));
    }

    [Test]
    public async Task ForgottenRow_ACallerStillHoldingIt_LooksItUpAgain_AndWhatReachedItIsWrittenOnceMore()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var time = Clock();
        await using var recorder = new UsageRecorder(new UsageStore(path, time, new LogLines()), time, new LogLines(), Interval);
        UsageCell? recent = null;
        recorder.TryRecord(Record(prompt: 1), ref recent);
        var forgotten = recent!;
        time.Advance(TimeSpan.FromMinutes(101));
        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);
        Assert.That(recorder.Rows, Is.Zero);

        // A caller that found the row just before the writer dropped it adds to it a moment later.
        forgotten.Add(Record(prompt: 2));

        // A connection that kept the row records a request of that hour again (a clock stepped back).
        recorder.TryRecord(Record(prompt: 4), ref recent);
        Assert.That(recent, Is.Not.SameAs(forgotten));
        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);

        var row = Query(path).Rows.Single();
        Assert.That((row.Requests, row.PromptTokens), Is.EqualTo((3L, 7L)));
    }

    [Test]
    public async Task LockedDatabase_IsLoggedOnceAndCounted_KeepsTheRecords_AndRecovers()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var time = Clock();
        var logs = new LogLines();
        await using var recorder = new UsageRecorder(new UsageStore(path, time, logs), time, logs, Interval);
        recorder.TryRecord(Record());
        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);

        using (var holder = Connect(path))
        {
            // Another writer (a second proxy, an sqlite3 shell) holds the write lock in an open transaction.
            using var transaction = holder.BeginTransaction(deferred: false);
            using (var insert = holder.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO usage_hourly VALUES (0, 'holder', '-', '-', '-', '2xx', 1, 0, 0, 0, 0, 0, 0)";
                insert.ExecuteNonQuery();
            }

            Assert.That(recorder.TryRecord(Record(prompt: 1, completion: 1)), Is.True);
            Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.False);
            Assert.That(recorder.TryRecord(Record(prompt: 2, completion: 2)), Is.True);
            Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.False);

            using (Assert.EnterMultipleScope())
            {
                Assert.That(recorder.ErrorCount, Is.EqualTo(2));
                Assert.That(recorder.IsFailing, Is.True);
                Assert.That(logs.Lines.Where(line => line.Contains("failing", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(1)
                    .And.Some.Contains("database is locked"));
            }

            transaction.Rollback();
        }

        Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);
        var row = Query(path).Rows.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That((row.Requests, row.PromptTokens), Is.EqualTo((3L, 13L)), "the records of the failed flushes were kept and written");
            Assert.That(recorder.IsFailing, Is.False);
            Assert.That(recorder.ErrorCount, Is.EqualTo(2));
            Assert.That(logs.Lines.Where(line => line.Contains("written again", StringComparison.Ordinal)), Is.EqualTo(new[]
            {
                $"Information usage: Usage database {path} written again after 2 failed attempts",
            }));
        }
    }

    [Test]
    public async Task CorruptFile_IsLoggedOnceAndCounted_NeverOverwritten_AndTheCallerNeverFeelsIt()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var garbage = Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray();
        await File.WriteAllBytesAsync(path, garbage);
        var time = Clock();
        var logs = new LogLines();

        await using (var recorder = new UsageRecorder(new UsageStore(path, time, logs), time, logs, Interval))
        {
            Assert.That(recorder.TryRecord(Record()), Is.True);
            Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.False);
            Assert.That(recorder.TryRecord(Record()), Is.True);
            var due = recorder.NextFlush;
            time.Advance(Interval);
            Assert.That(await due.OrTimeoutAsync(), Is.False);

            using (Assert.EnterMultipleScope())
            {
                // One failure on open at start, one per flush: the one asked for, the one the interval brought.
                Assert.That(recorder.ErrorCount, Is.EqualTo(3));
                Assert.That(recorder.IsFailing, Is.True);
                Assert.That(logs.Lines.Where(line => line.Contains("failing", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(1)
                    .And.Some.Contains("not a database"));
                Assert.That(await File.ReadAllBytesAsync(path), Is.EqualTo(garbage));
            }

            // The operator moves the broken file away: the next flush starts a new one, with what was kept.
            File.Move(path, folder.File("usage.db.broken"));
            Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.True);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Query(path).Rows.Single().Requests, Is.EqualTo(2));
            Assert.That(logs.Lines, Has.Exactly(1).Contains("written again after 3 failed attempts"));
        }
    }

    [Test]
    public async Task FileFromANewerSchema_IsLoggedAndCounted_AndLeftAlone()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        using (var newer = Connect(path))
        {
            Execute(newer, $"PRAGMA user_version = {UsageStore.SchemaVersion + 1};");
        }

        var time = Clock();
        var logs = new LogLines();
        await using (var recorder = new UsageRecorder(new UsageStore(path, time, logs), time, logs, Interval))
        {
            recorder.TryRecord(Record());
            Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.False);
            Assert.That(recorder.ErrorCount, Is.EqualTo(2));
        }

        using var connection = Connect(path);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(logs.Lines, Has.Exactly(1).Contains($"has schema version {UsageStore.SchemaVersion + 1}"));
            Assert.That(Scalar(connection, "PRAGMA user_version"), Is.EqualTo(UsageStore.SchemaVersion + 1));
            Assert.That(Scalar(connection, "SELECT count(*) FROM sqlite_master"), Is.Zero);
        }
    }

    [Test]
    public async Task AfterDispose_RecordingIsRefusedAndCounted_AndFlushAnswersFalse()
    {
        using var folder = new TemporaryFolder();
        var time = Clock();
        var recorder = new UsageRecorder(new UsageStore(folder.File("usage.db"), time, new LogLines()), time, new LogLines(), Interval);
        await recorder.DisposeAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(recorder.TryRecord(Record()), Is.False);
            Assert.That(recorder.DroppedCount, Is.EqualTo(1));
            Assert.That(await recorder.FlushAsync().OrTimeoutAsync(), Is.False);
        }

        await recorder.DisposeAsync();
    }
}

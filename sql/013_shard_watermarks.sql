-- 013_shard_watermarks: one mark per Redis shard. Each shard has its own stream (its
-- entry ids are compared only with its own), and one flusher per shard moves it, under
-- an advisory lock of its own. The marks kept before shards belong to shard 0, which
-- takes over the stream of that time.
alter table stream_watermark add column shard integer not null default 0;
alter table stream_watermark drop constraint stream_watermark_pkey;
alter table stream_watermark add primary key (stream, shard);

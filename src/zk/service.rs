//! ZooKeeper as a service that ZAB replicates: the znode tree is the state machine, the
//! leader's request preparation turns a client's write into a transaction, and the client layer
//! ([`super::server`]) plugs its messages, inputs and timers into the server's steps.

use super::prep::{prepare_outstanding, ZkRequest};
use super::server::{self, ClientMsg, Input, Local, PeerMsg, ZkTimer};
use super::session;
use super::tree::DataTree;
use super::txn::ZkTxn;
use crate::zab::{Host, Service, Txn, Zxid};

/// The ZooKeeper service: a ZAB server that runs it is a `Server<ZooKeeper>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZooKeeper;

impl Service for ZooKeeper {
    type Machine = DataTree;
    type Request = ZkRequest;
    type Local = Local;
    type ClientMsg = ClientMsg;
    type PeerMsg = PeerMsg;
    type Input = Input;
    type Timer = ZkTimer;

    fn prepare(
        tree: &DataTree,
        local: &mut Local,
        pending: &[Txn<ZkTxn>],
        zxid: Zxid,
        req: &ZkRequest,
    ) -> ZkTxn {
        let enforce = local.opts.enforce_quota;
        let memo = &mut local.outstanding;
        memo.catch_up(tree, pending, zxid);
        prepare_outstanding(tree, memo, zxid.0 as i64, req.time, &req.write, enforce)
    }

    fn on_client(host: &mut Host<Self>, client: usize, msg: ClientMsg) {
        server::on_client(host, client, msg)
    }

    fn on_peer(host: &mut Host<Self>, src: usize, msg: PeerMsg) {
        server::on_peer(host, src, msg)
    }

    fn on_input(host: &mut Host<Self>, input: Input) {
        server::on_input(host, input)
    }

    fn on_timer(host: &mut Host<Self>, timer: ZkTimer) {
        match timer {
            ZkTimer::Session => session::on_session_tick(host),
            ZkTimer::ReadOnly => super::read_only::on_timer(host),
        }
    }

    fn on_synced(host: &mut Host<Self>, client: usize) {
        server::on_synced(host, client)
    }

    fn after_step(host: &mut Host<Self>) {
        server::after_step(host)
    }
}

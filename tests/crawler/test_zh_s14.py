"""Session 14's Chinese fixes, each beside the near miss it must not catch.

A platform answering the press (快手回应：, 客服回应称) sources a question-headed report,
but a guide that asks a question and answers it itself is still a guide; users' comments
(无法发布和评论) are no commentary piece, but an opinion piece is; a county government is a
mainland actor, but Taiwan's is not; a rumour debunked (官方辟谣) or a notice said to be
spreading (在群聊流传) tells no act, but a real arrest beside a video that spread does; a
contract or a debt settled by paying is commerce, but a court voiding a mining contract is
an act; a gambling den's or a park's tokens are no coin, but an issued token is; Paraguay's
police are foreign, a county's are not; a ban told as the time after it (禁止挖矿后) is
background, but an act after it is news; a warning said aloud (民警：这是陷阱) or given
beside its authority's name (市金融监管局提示, 反诈中心提醒：) is an act, but a guide asking
whether crypto is a trap, or listing its five myths before a reminder, is not; a charge only
the mainland's law names (掩饰、隐瞒犯罪所得罪) places a case, Taiwan's 洗錢防制法 does not.
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"

CASES = [
    # a platform's answer to the press sources a report whose headline asks a question
    (
        "收款太频繁？支付宝对疑似炒币账户限额",
        "支付宝客服回应称，平台依据反洗钱相关规定，对疑似用于数字货币场外交易结算的账户"
        "采取了限制收款额度的措施。",
        True,
    ),
    (
        "“币圈”直播间集体消失？快手回应：依规处置",
        "多个长期直播“看盘喊单”的虚拟币主播账号已无法搜索，相关账号因违反平台关于虚拟货币"
        "内容的管理规定，已被依规处置。",
        True,
    ),
    (
        "炒币账户为什么会被限额？",
        "账户为何被限制收款？本文从反洗钱规定讲起，教你一步步申请解除虚拟货币交易引起的限制。",
        False,
    ),
    # users' comments are no commentary
    (
        "币圈KOL账号遭微博批量禁言",
        "多名拥有数十万粉丝的币圈大V发现账号被禁言，无法发布和评论。相关账号因发布虚拟货币"
        "交易引流信息被处理，禁言期限为180天。",
        True,
    ),
    # a county government is a mainland actor; Taiwan's county government is not
    (
        "关于严厉打击虚拟货币“挖矿”行为的通告",
        "县政府决定即日起在全县范围内开展虚拟货币“挖矿”活动清理整治，严禁任何单位和个人"
        "利用厂房从事“挖矿”活动，一经发现，依法予以关停。",
        True,
    ),
    (
        "屏東縣政府嚴禁利用廠房挖礦",
        "屏東縣政府宣布，嚴禁任何單位利用廠房從事虛擬貨幣挖礦，一經發現依法斷電。",
        False,
    ),
    # a rumour debunked and a fake notice spreading tell no act
    (
        "“某交易所被查封、高管被带走”？官方辟谣",
        "有消息称国内一家数字资产交易所被查封、高管被带走。当地公安机关回应，未接到相关案件。",
        False,
    ),
    (
        "“公安部虚拟币专项清查公告”系伪造",
        "一则署名“公安部”的“关于开展虚拟币专项清查的公告”在多个群聊流传，要求持币人员"
        "限期登记。该公告系伪造。",
        False,
    ),
    (
        "警方破获虚拟币洗钱案 抓获12人",
        "网上流传的抓捕视频引发关注。某市公安局通报，已破获一起利用虚拟币洗钱的案件。",
        True,
    ),
    # a contract or a debt settled by paying is commerce; a void mining contract is an act
    (
        "矿池与云算力公司合同纠纷一审判决",
        "某矿池运营公司与一家云算力服务商因服务器托管费用发生纠纷，法院一审判决被告支付"
        "托管费及违约金共计320万元。",
        False,
    ),
    (
        "矿机销售商拖欠货款被判偿还",
        "某矿机销售公司拖欠上游厂商货款，法院判决其偿还货款1100万元及利息。",
        False,
    ),
    (
        "矿机买卖合同纠纷：法院认定合同无效",
        "法院认为，案涉矿机买卖以从事比特币“挖矿”为目的，合同无效，驳回原告诉讼请求。",
        True,
    ),
    # a gambling den's or a park's tokens are no coin; an issued token is
    (
        "利用“代币”赌球 地下赌场被端",
        "该赌博团伙以“代币”记账方式接受投注，参赌人员先用现金兑换“代币”后下注，"
        "警方抓获嫌疑人30名。",
        False,
    ),
    (
        "游乐场“一卡通”余额不退 市场监管部门约谈",
        "多名游客投诉某游乐场充值的“一卡通”代币余额无法退还，市场监管局已约谈该游乐场负责人。",
        False,
    ),
    (
        "某公司发行代币非法集资 负责人被刑拘",
        "该公司以区块链项目为名发行代币，向公众吸收资金2亿元，警方已对负责人刑事拘留。",
        True,
    ),
    # Paraguay's police are foreign; a county's are not
    (
        "巴拉圭警方突击查处中资背景的非法矿场",
        "巴拉圭警方近日突击检查一处非法接电的加密货币矿场，该矿场由中资背景企业运营。",
        False,
    ),
    (
        "某县警方突击查处非法接电的虚拟币矿场",
        "某县公安局近日突击检查一处非法接电的虚拟币矿场，扣押矿机120台。",
        True,
    ),
    # a ban told as the time after it is background; an act after it is news
    (
        "国内矿机厂商在埃塞俄比亚的矿场投运",
        "国内某矿机厂商宣布，其位于埃塞俄比亚的比特币矿场已投入运营。自2021年中国全面禁止"
        "挖矿后，多家企业将算力迁往海外。",
        False,
    ),
    (
        "某县关停两处偷偷运行的矿场",
        "自2021年禁止挖矿后，某县仍有矿场偷偷运行。县发改委近日会同供电部门将两处矿场关停。",
        True,
    ),
    # a warning said aloud is an act; a guide asking whether crypto is a trap is not
    (
        "炒币稳赚不赔？民警：这是陷阱",
        "“老师带你炒币，三天翻倍。”近日，市民陈先生差点落入这样的圈套，幸亏民警及时劝阻。"
        "民警提醒，所谓“带单老师”多为诈骗分子。",
        True,
    ),
    (
        "炒币是陷阱吗？一文看懂",
        "虚拟货币交易在我国属于非法金融活动，本文带你了解常见骗局，警方提醒切勿参与。",
        False,
    ),
    # an authority's warning beside its name is an act, under a teaser headline too; a
    # guide that lists its own items (五个常见误区) and ends on a reminder is a guide
    (
        "“数字货币”投资群里的“老师”是谁",
        "不少市民被拉进所谓的数字货币投资群。市金融监管局提示，此类群组多为非法集资或诈骗，"
        "请勿参与。",
        True,
    ),
    (
        "",
        "有人在群里高价收购泰达币？某市公安局反诈中心提醒：对方支付的往往是诈骗赃款，"
        "参与者可能涉嫌犯罪。",
        True,
    ),
    (
        "虚拟货币投资的五个常见误区",
        "许多人对虚拟货币存在误解，以为“区块链项目都能赚钱”。本文梳理五个常见误区。文末，"
        "民警提醒大家：投资需谨慎，切勿轻信高收益。",
        False,
    ),
    # a punitive power price on mining is a penalty; a household tariff is no act
    (
        "对仍在“挖矿”的企业执行惩罚性电价",
        "某省发改委对仍在从事虚拟货币“挖矿”的企业执行惩罚性电价。",
        True,
    ),
    (
        "居民阶梯电价调整 多地听证",
        "多地发改委就居民阶梯电价调整方案举行听证，比特币矿工则担心海外电价上涨。",
        False,
    ),
    # a price through a level (涨破) is market news whatever standing ban it names
    (
        "比特币涨破10万美元 散户重回币圈",
        "比特币价格突破10万美元。在国内，虚拟货币交易仍被禁止，但仍有散户通过各种渠道入场。",
        False,
    ),
    # a game's coins trading platform is no crypto exchange; a quoted coin's platform is
    (
        "游戏“金币”交易平台涉赌被查",
        "某游戏金币交易平台为玩家提供金币与人民币的兑换服务，被警方认定为变相赌博，"
        "平台负责人被刑拘。",
        False,
    ),
    (
        "“XX币”交易平台暴雷 警方立案",
        "投资者在“XX币”交易平台充值后无法提现，警方已立案侦查。",
        True,
    ),
    # a charge only the mainland's law names places a case with no police or court named;
    # Taiwan's money-laundering act does not
    (
        "一条“兼职”广告，让他成了洗钱链条上的一环",
        "26岁的小张在网上看到“日结兼职”广告，按要求注册交易平台账户，帮人把资金换成泰达币。"
        "日前，小张因涉嫌掩饰、隐瞒犯罪所得罪被依法逮捕。",
        True,
    ),
    (
        "台中男子幫詐團換USDT 被依洗錢防制法起訴",
        "台中一名男子幫詐騙集團將贓款換成USDT，被台中地檢署依洗錢防制法起訴。",
        False,
    ),
    (
        "司警提醒市民慎防虛擬貨幣投資騙局",
        "司法警察局提醒市民，近期有騙徒透過社交平台推介虛擬貨幣投資，市民切勿輕信。",
        False,
    ),
]


@pytest.mark.parametrize(("title", "text", "alerts"), CASES, ids=[c[0] or c[1][:12] for c in CASES])
def test_s14_case(matcher: Matcher, title: str, text: str, alerts: bool) -> None:
    assert (TOPIC in match(matcher, title, text).topics) is alerts, (title, text)

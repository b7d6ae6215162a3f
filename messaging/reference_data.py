"""Rows every installation starts with, written by data migrations (and restored by tests):
the default texts of the customer notices, in Simplified Chinese and English (admins edit them
afterwards; a row that exists is left as it is)."""

GREETING_ZH = "{% if customer.name %}{{ customer.name }}，{% endif %}您好！\n\n"
GREETING_EN = "Dear {{ customer.name|default:'customer' }},\n\n"
SIGN_ZH = "\n\n如有任何疑问，直接回复本消息即可联系我们。\n\n客服中心"
SIGN_EN = "\n\nIf you have any questions, simply reply to this message.\n\nCustomer Service"

TEXTS = {
    "order_exception_opened": {
        "zh-hans": (
            "您的订单 {{ order.number }} 出现异常：{{ reason }}",
            GREETING_ZH + "我们发现您的订单 {{ order.number }} 出现了异常情况：{{ reason }}。"
            "我们正在第一时间处理，客服人员会尽快与您联系并提供解决方案。" + SIGN_ZH,
        ),
        "en": (
            "An issue with your order {{ order.number }}: {{ reason }}",
            GREETING_EN + "We noticed an issue with your order {{ order.number }}: {{ reason }}. "
            "We are already on it, and our team will contact you shortly with a solution."
            + SIGN_EN,
        ),
    },
    "return_approved": {
        "zh-hans": (
            "您的售后申请 {{ return.number }} 已通过审核",
            GREETING_ZH + "您在订单 {{ order.number }} 上提交的售后申请 {{ return.number }}"
            "（金额 {{ amount }}）已通过审核。{% if reason %}\n说明：{{ reason }}{% endif %}\n\n"
            "如需寄回商品，请在售后页面填写退货物流单号；我们收到并检验商品后会尽快为您办理。"
            + SIGN_ZH,
        ),
        "en": (
            "Your return request {{ return.number }} is approved",
            GREETING_EN + "Your return request {{ return.number }} for order {{ order.number }} "
            "({{ amount }}) has been approved.{% if reason %}\nNote: {{ reason }}{% endif %}\n\n"
            "If the goods are to come back, please enter the tracking number of your parcel on "
            "the return page; we will complete the return as soon as we have received and "
            "checked them." + SIGN_EN,
        ),
    },
    "return_rejected": {
        "zh-hans": (
            "您的售后申请 {{ return.number }} 未通过审核",
            GREETING_ZH
            + "很抱歉，您在订单 {{ order.number }} 上提交的售后申请 {{ return.number }} "
            "未能通过审核。{% if reason %}\n原因：{{ reason }}{% endif %}\n\n"
            "如您有新的凭证或说明，可在申诉期限内提出申诉。" + SIGN_ZH,
        ),
        "en": (
            "Your return request {{ return.number }} was not approved",
            GREETING_EN + "We are sorry: your return request {{ return.number }} for order "
            "{{ order.number }} was not approved.{% if reason %}\nReason: {{ reason }}{% endif %}"
            "\n\nIf you have new evidence or an explanation, you may appeal within the appeal "
            "period." + SIGN_EN,
        ),
    },
    "return_refunded": {
        "zh-hans": (
            "退款 {{ amount }} 已原路退回",
            GREETING_ZH
            + "您在订单 {{ order.number }}{% if return.number %}（售后申请 {{ return.number }}）"
            "{% endif %}的退款 {{ amount }} 已原路退回，到账时间以支付渠道为准，"
            "通常为 1–3 个工作日。" + SIGN_ZH,
        ),
        "en": (
            "Your refund of {{ amount }} has been paid",
            GREETING_EN + "The refund of {{ amount }} for order {{ order.number }}"
            "{% if return.number %} (return request {{ return.number }}){% endif %} has been "
            "paid back to your original payment method. It usually arrives within 1–3 working "
            "days, depending on your bank or payment provider." + SIGN_EN,
        ),
    },
    "complaint_accepted": {
        "zh-hans": (
            "您的投诉 {{ complaint.number }} 已受理",
            GREETING_ZH + "我们已受理您的投诉 {{ complaint.number }}，专人正在调查处理，"
            "会尽快给您答复处理方案。" + SIGN_ZH,
        ),
        "en": (
            "Your complaint {{ complaint.number }} has been accepted",
            GREETING_EN
            + "We have accepted your complaint {{ complaint.number }}. A dedicated member of "
            "our team is looking into it and will come back to you with a plan as soon as "
            "possible." + SIGN_EN,
        ),
    },
    "complaint_plan_proposed": {
        "zh-hans": (
            "投诉 {{ complaint.number }} 的处理方案",
            GREETING_ZH
            + "针对您的投诉 {{ complaint.number }}，我们的处理方案如下：\n\n{{ plan }}"
            + SIGN_ZH,
        ),
        "en": (
            "Our plan for your complaint {{ complaint.number }}",
            GREETING_EN
            + "Here is how we propose to resolve your complaint {{ complaint.number }}:\n\n"
            "{{ plan }}" + SIGN_EN,
        ),
    },
    "complaint_awaiting_confirmation": {
        "zh-hans": (
            "请确认投诉 {{ complaint.number }} 的处理结果",
            GREETING_ZH
            + "您的投诉 {{ complaint.number }} 已按方案处理完毕，请确认您是否满意处理结果。"
            "如在确认期限内未收到您的回复，该投诉将视为已解决。"
            "{% if plan %}\n\n处理方案：{{ plan }}{% endif %}" + SIGN_ZH,
        ),
        "en": (
            "Please confirm the outcome of your complaint {{ complaint.number }}",
            GREETING_EN
            + "We have carried out the plan for your complaint {{ complaint.number }}. Please "
            "let us know whether you are satisfied with the outcome; without an answer within "
            "the confirmation period, the complaint will be considered resolved."
            "{% if plan %}\n\nThe plan: {{ plan }}{% endif %}" + SIGN_EN,
        ),
    },
    "ticket_solved": {
        "zh-hans": (
            "您的工单 {{ ticket.number }} 已解决",
            GREETING_ZH + "您的问题（工单 {{ ticket.number }}）已处理完毕。"
            "如仍有疑问，直接回复本消息即可重新打开工单。\n\n客服中心",
        ),
        "en": (
            "Your request {{ ticket.number }} has been solved",
            GREETING_EN
            + "Your request {{ ticket.number }} has been solved. If anything is still unclear, "
            "simply reply to this message and the request reopens.\n\nCustomer Service",
        ),
    },
}


def ensure_default_notice_templates(apps, schema_editor=None) -> None:
    """Every notice in both languages has its text (the existing ones left as they are)."""
    NoticeTemplate = apps.get_model("messaging", "NoticeTemplate")
    for notice_type, languages in TEXTS.items():
        for language, (subject, body) in languages.items():
            NoticeTemplate.objects.get_or_create(
                notice_type=notice_type,
                language=language,
                defaults={"subject": subject, "body": body, "enabled": True},
            )
